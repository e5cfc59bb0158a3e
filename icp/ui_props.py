"""Write ``ui/props.ts``: the TypeScript twin of the card props defined in ``graph/state.py``.

The generative-UI cards (``ui/*.tsx``) type their props with the interfaces this writes, so
a field renamed or added in the graph state reaches the cards through one definition;
``tests/unit/test_ui_props.py`` fails while the committed file is stale. Run
``.venv/bin/python -m icp.ui_props`` after changing a card's TypedDict.
"""

from __future__ import annotations

import ast
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from typing_extensions import is_typeddict

from graph import state

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "ui" / "props.ts"
HEADER = (
    "// Generated from graph/state.py by `python -m icp.ui_props`; do not edit by hand.\n"
    "// The card props the graph pushes with push_ui_message, field for field.\n"
)


def _field_docs() -> dict[str, dict[str, str]]:
    """Return each class's field docstrings (the string literal under each field)."""
    tree = ast.parse(Path(state.__file__).read_text(encoding="utf-8"))
    docs: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields: dict[str, str] = {}
        body = node.body
        for stmt, after in zip(body, body[1:], strict=False):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                fields[stmt.target.id] = after.value.value
        docs[node.name] = fields
    return docs


def _aliases() -> dict[Any, str]:
    """Return the module's named Literal types (Bucket, JobStatus, ...) by value."""
    return {
        value: name
        for name, value in vars(state).items()
        if get_origin(value) is Literal and not name.startswith("_")
    }


def _literal(args: tuple[Any, ...]) -> str:
    return " | ".join(f'"{a}"' if isinstance(a, str) else str(a).lower() for a in args)


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and is_typeddict(tp)


class _Writer:
    def __init__(self) -> None:
        self.docs = _field_docs()
        self.aliases = _aliases()
        self.used_aliases: list[str] = []
        self.order: list[type] = []

    def ts(self, tp: Any) -> str:
        """Return the TypeScript spelling of a Python annotation."""
        if tp in self.aliases:
            name = self.aliases[tp]
            if name not in self.used_aliases:
                self.used_aliases.append(name)
            return name
        origin, args = get_origin(tp), get_args(tp)
        if tp is str:
            return "string"
        if tp is bool:
            return "boolean"
        if tp in (int, float):
            return "number"
        if tp is type(None):
            return "null"
        if origin is Literal:
            return _literal(args)
        if origin in (typing.Union, types.UnionType):
            return " | ".join(self.ts(a) for a in args)
        if origin is list:
            inner = self.ts(args[0])
            return f"({inner})[]" if " | " in inner else f"{inner}[]"
        if _is_typeddict(tp):
            self.visit(tp)
            return str(tp.__name__)
        raise TypeError(f"no TypeScript spelling for {tp!r}")

    def visit(self, cls: type) -> None:
        """Queue a TypedDict (and the ones it contains) for output, dependencies first."""
        if cls in self.order:
            return
        for tp in get_type_hints(cls).values():
            self.ts(tp)
        self.order.append(cls)

    def interface(self, cls: type) -> str:
        docs = self.docs.get(cls.__name__, {})
        required: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
        lines = [f"/** {(cls.__doc__ or '').strip()} */", f"export interface {cls.__name__} {{"]
        for name, tp in get_type_hints(cls).items():
            if name in docs:
                lines.append(f"  /** {docs[name].replace('None', 'null')} */")
            optional = "" if name in required else "?"
            lines.append(f"  {name}{optional}: {self.ts(tp)};")
        lines.append("}")
        return "\n".join(lines)


def render() -> str:
    """Return the text of ui/props.ts for the current graph/state.py."""
    writer = _Writer()
    for cls in state.CARDS.values():
        writer.visit(cls)
    interfaces = [writer.interface(cls) for cls in writer.order]
    aliases = [
        f"export type {name} = {_literal(get_args(getattr(state, name)))};"
        for name in writer.used_aliases
    ]
    cards = "\n".join(f"  {name}: {cls.__name__};" for name, cls in state.CARDS.items())
    props = (
        "/** Each card's props by the name the graph pushes it under. */\n"
        f"export interface CardProps {{\n{cards}\n}}\n\n"
        "export type CardName = keyof CardProps;"
    )
    return "\n\n".join([HEADER.rstrip("\n"), *aliases, *interfaces, props]) + "\n"


def main() -> int:
    """Write ui/props.ts."""
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
