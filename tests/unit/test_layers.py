"""The packages form layers: each imports only the ones below it (README, Architecture)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["config", "db", "jobs", "nodes", "graph", "api", "icp"]  # bottom to top


# The state schema is a leaf the nodes type their arguments with; it imports no product code.
SCHEMA = "graph.state"


def _modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _imports(path: Path) -> set[str]:
    return {m.split(".")[0] for m in _modules(path) if m != SCHEMA}


def test_no_package_imports_a_layer_above_it() -> None:
    upward: list[str] = []
    for rank, package in enumerate(LAYERS):
        above = set(LAYERS[rank + 1 :])
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in sorted(_imports(path) & above):
                upward.append(f"{path.relative_to(ROOT)} imports {name}")
    assert upward == []


def test_every_product_package_has_a_layer() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(LAYERS)


def test_the_state_schema_imports_no_product_package() -> None:
    imported = {m.split(".")[0] for m in _modules(ROOT / "graph" / "state.py")}
    assert imported & set(LAYERS) == set()
