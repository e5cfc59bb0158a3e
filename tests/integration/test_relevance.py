"""Relevance of the resolver on a sales team's own words (tests/corpora/industry_relevance.csv).

Each corpus row is a phrase, its category, the SSIC nodes a sales analyst would expect
(any level; expanded to subclasses here) and why. The test runs the product's resolver
(``nodes.resolve.understand``, as the chat, the preview and the job route do), prints
recall and precision per category and overall, and fails below the floors. A phrase that
should resolve to nothing (too broad, not an industry) scores 1 when it resolves to
nothing and 0 otherwise; a too-broad phrase must also get the question with the main
groups to choose from.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from nodes.resolve import understand

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parents[1] / "corpora" / "industry_relevance.csv"
MIN_CASES = 120
FLOOR_RECALL = 0.95
FLOOR_PRECISION = 0.90
FLOOR_CATEGORY = 0.85
CATEGORIES = {
    "everyday",
    "plurals",
    "typos",
    "professions",
    "abbreviations",
    "singapore",
    "chinese_malay",
    "multi_industry",
    "qualifiers",
    "too_broad",
    "non_industry",
    "sentences",
}


@dataclass(frozen=True)
class Case:
    """One corpus row."""

    phrase: str
    category: str
    expected: tuple[str, ...]
    why: str


def load_corpus() -> list[Case]:
    """Return the corpus rows."""
    with CORPUS.open(encoding="utf-8", newline="") as f:
        return [
            Case(r["phrase"], r["category"], tuple(r["expected"].split()), r["why"])
            for r in csv.DictReader(f)
        ]


@pytest.fixture
async def conn(empty_db: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """Return a connection to a fresh database holding the SSIC reference and vocabulary."""
    async with await psycopg.AsyncConnection.connect(empty_db) as c:
        yield c


async def subclasses(conn: psycopg.AsyncConnection[Any], nodes: tuple[str, ...]) -> set[str]:
    """Return the subclasses below SSIC nodes of any level (a section letter to a subclass)."""
    if not nodes:
        return set()
    cur = await conn.execute(
        "SELECT s.code FROM ssic_ref s WHERE s.level = 'subclass' AND (s.section = ANY(%(n)s)"
        " OR s.division = ANY(%(n)s) OR s.group_code = ANY(%(n)s) OR s.class_code = ANY(%(n)s)"
        " OR s.code = ANY(%(n)s))",
        {"n": list(nodes)},
    )
    return {r[0] for r in await cur.fetchall()}


def test_corpus_is_well_formed() -> None:
    cases = load_corpus()
    assert len(cases) >= MIN_CASES
    assert {c.category for c in cases} == CATEGORIES
    assert len({c.phrase for c in cases}) == len(cases), "a phrase is listed twice"
    for c in cases:
        assert c.why, c.phrase
        empty = c.category in ("too_broad", "non_industry")
        assert bool(c.expected) != empty, c.phrase


async def test_relevance_meets_the_floors(
    conn: psycopg.AsyncConnection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    cases = load_corpus()
    scores: dict[str, list[tuple[float, float]]] = defaultdict(list)
    misses: list[str] = []
    behaviour: list[str] = []
    for case in cases:
        expected = await subclasses(conn, case.expected)
        assert len(expected) >= len(case.expected), f"{case.phrase}: unknown code in corpus"
        understood = await understand(conn, case.phrase)
        got = set(understood.resolution.code_list)
        if expected:
            hit = len(got & expected)
            recall, precision = hit / len(expected), (hit / len(got) if got else 0.0)
        else:
            recall = precision = 1.0 if not got else 0.0
        scores[case.category].append((recall, precision))
        if recall < 1 or precision < 1:
            reasons = [t.reason for t in understood.resolution.terms]
            misses.append(
                f"  {case.category:14} {case.phrase!r}: recall {recall:.2f} precision "
                f"{precision:.2f}; missing {sorted(expected - got)[:6]} extra "
                f"{sorted(got - expected)[:6]} ({len(got)} codes) {reasons}"
            )
        asked = bool(understood.resolution.broad)
        if case.category == "too_broad" and not (asked and not got):
            behaviour.append(f"  {case.phrase!r} did not get the question with the main groups")
        if case.category == "non_industry" and asked:
            behaviour.append(f"  {case.phrase!r} is not an industry but got the broad question")

    lines = [f"{'category':16} {'n':>4} {'recall':>7} {'precision':>9}"]
    floors_missed: list[str] = []
    for category in sorted(scores):
        rows = scores[category]
        r = sum(s[0] for s in rows) / len(rows)
        p = sum(s[1] for s in rows) / len(rows)
        lines.append(f"{category:16} {len(rows):>4} {r:>7.3f} {p:>9.3f}")
        if r < FLOOR_CATEGORY or p < FLOOR_CATEGORY:
            floors_missed.append(f"{category} below {FLOOR_CATEGORY}")
    every = [s for rows in scores.values() for s in rows]
    recall = sum(s[0] for s in every) / len(every)
    precision = sum(s[1] for s in every) / len(every)
    lines.append(f"{'overall':16} {len(every):>4} {recall:>7.3f} {precision:>9.3f}")
    with capsys.disabled():
        print("\nIndustry relevance corpus (macro average per phrase)")
        print("\n".join(lines))
        if misses:
            print("Phrases not fully right:")
            print("\n".join(misses))
    if recall < FLOOR_RECALL:
        floors_missed.append(f"overall recall {recall:.3f} < {FLOOR_RECALL}")
    if precision < FLOOR_PRECISION:
        floors_missed.append(f"overall precision {precision:.3f} < {FLOOR_PRECISION}")
    assert not floors_missed and not behaviour, "\n".join(floors_missed + behaviour)


async def test_non_industry_and_too_broad_phrases_write_nothing(app_db: str) -> None:
    """The corpus's phrases that name no industry queue nothing and score nothing."""
    from langchain_core.messages import AIMessage

    from graph.graph import graph
    from tests.helpers import written_rows

    cases = [c for c in load_corpus() if c.category in ("too_broad", "non_industry")]
    problems: list[str] = []
    for case in cases:
        out = await graph.ainvoke({"messages": [{"type": "human", "content": case.phrase}]})
        reply = out["messages"][-1]
        assert isinstance(reply, AIMessage)
        text = str(reply.content)
        # A paging request ("show me more") is no search: it has no codes at all.
        if out.get("codes") or out.get("head") or out.get("job") or out.get("total"):
            problems.append(f"{case.phrase!r} searched {len(out.get('codes', []))} codes")
        if case.category == "too_broad":
            options = (out.get("clarify") or {}).get("options", [])
            if "too broad" not in text or not options or options[0]["title"] not in text:
                problems.append(f"{case.phrase!r} got no question with the main groups: {text}")
        if written_rows(app_db) != (0, 0, 0):
            problems.append(f"{case.phrase!r} wrote {written_rows(app_db)}")
    assert not problems, "\n".join(problems)
