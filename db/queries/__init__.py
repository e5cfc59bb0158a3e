"""Named SQL blocks loaded once from ``db/queries/*.sql`` (``-- name: claim_job``).

A block may include another with ``/*= name */`` (one level: an included block includes
nothing), so a shared select list is written once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)
_INCLUDE = re.compile(r"/\*=\s*(\w+)\s*\*/")


def parse_blocks(text: str) -> dict[str, str]:
    """Split a .sql file into its named blocks."""
    parts = _NAME.split(text)
    blocks: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in blocks:
            raise ValueError(f"duplicate query name {name!r}")
        blocks[name] = body.strip().rstrip(";").strip()
    return blocks


@lru_cache(maxsize=1)
def _all() -> dict[str, str]:
    blocks: dict[str, str] = {}
    for entry in sorted(resources.files("db.queries").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            for name, body in parse_blocks(entry.read_text(encoding="utf-8")).items():
                if name in blocks:
                    raise ValueError(f"duplicate query name {name!r} in {entry.name}")
                blocks[name] = body
    return resolve_includes(blocks)


def resolve_includes(blocks: dict[str, str]) -> dict[str, str]:
    """Return the blocks with each ``/*= name */`` replaced by that block's SQL."""
    return {name: _INCLUDE.sub(lambda m: _included(blocks, m[1]), b) for name, b in blocks.items()}


def _included(blocks: dict[str, str], name: str) -> str:
    body = blocks.get(name)
    if body is None or _INCLUDE.search(body):
        raise ValueError(f"/*= {name} */ includes no plain SQL block")
    return body


def q(name: str) -> str:
    """Return the SQL of the named block."""
    try:
        return _all()[name]
    except KeyError:
        raise KeyError(f"no SQL block named {name!r} in db/queries") from None
