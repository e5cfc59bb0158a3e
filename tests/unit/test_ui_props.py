"""The cards' TypeScript props are generated from graph/state.py and kept current."""

from __future__ import annotations

import re

from graph import state
from icp.ui_props import TARGET, render


def test_props_ts_is_generated_from_the_state_schema() -> None:
    assert TARGET.read_text(encoding="utf-8") == render(), (
        "ui/props.ts is stale: run `.venv/bin/python -m icp.ui_props`"
    )


def test_every_card_field_is_in_the_typescript_props() -> None:
    text = render()
    for name, cls in state.CARDS.items():
        assert f"  {name}: {cls.__name__};" in text
        block = re.search(rf"export interface {cls.__name__} {{(.*?)\n}}", text, re.S)
        assert block is not None
        fields = re.findall(r"^  (\w+)\??: ", block.group(1), re.M)
        assert fields == list(cls.__annotations__), cls.__name__


def test_the_cards_module_exports_every_card_the_graph_pushes() -> None:
    index = (TARGET.parent / "index.tsx").read_text(encoding="utf-8")
    exported = re.findall(r"^  (\w+): \w+Card,$", index, re.M)
    assert exported == list(state.CARDS)
