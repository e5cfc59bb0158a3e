"""No list is paged with OFFSET: every page is a keyset walk (see api/pagination.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "db", "graph", "jobs", "nodes", "icp")  # not bench/ or docs/
# An OFFSET clause: the keyword followed by a value (number, bind parameter, placeholder,
# identifier/expression then ROW(S), or ANSI "OFFSET ... FETCH"). Prose like "never OFFSET"
# in comments does not match.
OFFSET_CLAUSE = re.compile(
    r"\bOFFSET\s+(?:\d|%\(|%s\b|\$\d|:\w|\{|\?|\("
    r"|[\w.]+\s+ROWS?\b|[\w.]+\s*(?:;|\)|\s+FETCH\b|\s+LIMIT\b|\s+FOR\b))",
    re.IGNORECASE,
)


def _sources() -> list[Path]:
    files: list[Path] = []
    for pkg in PACKAGES:
        files += [p for p in (ROOT / pkg).rglob("*") if p.suffix in (".py", ".sql")]
    return sorted(files)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM t ORDER BY id LIMIT 50 OFFSET 100",
        "LIMIT %(limit)s OFFSET %(offset)s",
        "limit %s offset %s",
        "OFFSET $2",
        "offset :skip",
        'f"... OFFSET {skip}"',
        "OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY",
        "OFFSET skip ROWS",
        "LIMIT 5 OFFSET n;",
        "LIMIT 5 OFFSET (%(page)s - 1) * 50",
        "OFFSET ?",
        "LIMIT 50\n    OFFSET\n    %(n)s",
    ],
)
def test_the_pattern_catches_offset_clauses(text: str) -> None:
    assert OFFSET_CLAUSE.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "-- The next keyset batch after (after_code, after_uen); never OFFSET.",
        "STAGING_BATCH_SIZE rows at a time (never OFFSET). Each batch",
        "One keyset page: never OFFSET, never COUNT(*).",
        "a keyset walk, not OFFSET plus COUNT(*)",
        "utcoffset(tz)",
        "the key of the last row. No OFFSET and\nno COUNT(*)",
    ],
)
def test_the_pattern_ignores_prose(text: str) -> None:
    assert not OFFSET_CLAUSE.search(text)


def test_no_offset_clause_anywhere() -> None:
    files = _sources()
    assert len(files) > 20 and any(p.suffix == ".sql" for p in files)
    hits = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        # The whole text, so a clause split over lines ("OFFSET\n  %(n)s") is caught too.
        for m in OFFSET_CLAUSE.finditer(text):
            n = text.count("\n", 0, m.start()) + 1
            hits.append(f"{path.relative_to(ROOT)}:{n}: {m.group(0).strip()}")
    assert not hits, "OFFSET paging found; use a keyset (api/pagination.py):\n" + "\n".join(hits)
