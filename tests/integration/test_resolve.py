"""Terms resolve to real SSIC 2020 subclasses: whole subtrees for titles, index phrases, typos."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg import sql

from nodes.resolve import CodeHit, Resolution, resolve_terms
from nodes.terms import extract_terms

pytestmark = pytest.mark.integration

DIVISIONS_C = {f"{d:02d}" for d in range(10, 33)} - {"33"}


@pytest.fixture
async def conn(empty_db: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """Return a connection to a fresh database holding the SSIC 2020 reference."""
    async with await psycopg.AsyncConnection.connect(empty_db) as c:
        yield c


async def _subclasses(conn: psycopg.AsyncConnection[Any], column: str, value: str) -> set[str]:
    query = sql.SQL("SELECT code FROM ssic_ref WHERE level = 'subclass' AND {} = %s").format(
        sql.Identifier(column)
    )
    cur = await conn.execute(query, (value,))
    return {r[0] for r in await cur.fetchall()}


@dataclass
class Case:
    """A chat message and what its codes must look like."""

    text: str
    includes: set[str] = field(default_factory=set)
    prefixes: tuple[str, ...] = ()
    exactly: set[str] | None = None
    count: int | None = None
    subtree: tuple[str, str] | None = None  # (column, value): exactly that node's subclasses


CASES = [
    Case("Manufacturing", count=355, prefixes=tuple(DIVISIONS_C), subtree=("section", "C")),
    Case("manufacturing companies in Singapore", count=355, subtree=("section", "C")),
    Case("manufactoring", count=355, subtree=("section", "C")),
    Case("manufacturng", count=355, subtree=("section", "C")),
    Case("manufact", count=355, subtree=("section", "C")),
    Case("manuf", includes={"10712", "32909"}, subtree=None, prefixes=tuple(DIVISIONS_C)),
    Case("bakery", includes={"10711", "10712", "10719"}),
    Case("bakeries", includes={"10712"}),
    Case("software development", includes={"62011", "62013"}, prefixes=("620",)),
    Case("IT consultancy", includes={"62021", "62022"}, prefixes=("620",)),
    Case("information technology", includes={"62021"}, prefixes=("620", "781")),
    Case("restaurants", exactly={"56111"}),
    Case("restaurant", exactly={"56111"}),
    Case("cafes", exactly={"56112"}),
    Case("construction", count=41, prefixes=("41", "42", "43"), subtree=("section", "F")),
    Case("constructoin", subtree=("section", "F")),
    Case("logistics", includes={"52292"}),
    Case("freight forwarding", exactly={"52292"}),
    Case("third party logistics", exactly={"52292"}),
    Case("hairdressing", includes={"96021"}),
    Case("real estate", count=10, prefixes=("68",), subtree=("section", "L")),
    Case("Food and beverage", count=8, prefixes=("56",), subtree=("division", "56")),
    Case("F&B", subtree=("division", "56")),
    Case("food and beverage service activities", subtree=("division", "56")),
    Case("wholesale", count=100, prefixes=("46",), subtree=("division", "46")),
    Case("retail", prefixes=("47",), subtree=("division", "47")),
    Case("education", prefixes=("85",), subtree=("section", "P")),
    Case("telecommunications", prefixes=("61",), subtree=("division", "61")),
    Case("management consultancy", prefixes=("702",), subtree=("group_code", "702")),
    Case("cleaning", prefixes=("812",), subtree=("group_code", "812")),
    Case("printing", prefixes=("1811",), subtree=("class_code", "1811")),
    Case("hotels", exactly={"55101"}),
    Case("data centres", exactly={"63111"}),
    Case("interior design", exactly={"74191"}),
    Case("advertising", exactly={"73100"}),
    Case("accounting", includes={"69201"}),
    Case("legal", prefixes=("691",), subtree=("group_code", "691")),
    Case("semiconductors", includes={"26112", "26113"}),
    Case("warehousing", prefixes=("521",)),
    Case("R&D", includes={"72101", "72200"}),
    Case("oil and gas", includes={"09001", "09002"}),
    Case("10712", exactly={"10712"}),
    Case("62", count=7, prefixes=("62",), subtree=("division", "62")),
    Case("1071", exactly={"10711", "10712", "10719"}),
    Case("99999", exactly=set()),
    Case("xyzzy", exactly=set()),
    Case("asdf", exactly=set()),
    Case("the", exactly=set()),
    Case("thanks!", exactly=set()),
    Case("Find me bakeries and restaurants in Singapore", includes={"10712", "56111"}),
]


async def test_real_phrases_resolve_to_expected_codes(
    conn: psycopg.AsyncConnection[Any],
) -> None:
    failures: list[str] = []
    for case in CASES:
        res = await resolve_terms(conn, extract_terms(case.text))
        codes = set(res.code_list)
        problems = []
        if not case.includes <= codes:
            problems.append(f"missing {sorted(case.includes - codes)}")
        if case.prefixes and not all(c.startswith(case.prefixes) for c in codes):
            problems.append(f"outside {case.prefixes}: {sorted(codes)[:8]}")
        if case.exactly is not None and codes != case.exactly:
            problems.append(f"expected {sorted(case.exactly)}")
        if case.count is not None and len(codes) != case.count:
            problems.append(f"expected {case.count} codes")
        if case.subtree is not None and codes != await _subclasses(conn, *case.subtree):
            problems.append(f"expected the subtree of {case.subtree}")
        if case.exactly != set() and not codes:
            problems.append("no codes")
        if problems:
            reasons = [t.reason for t in res.terms]
            failures.append(f"{case.text!r} -> {len(codes)} codes {reasons}: {problems}")
    assert not failures, "\n".join(failures)


async def test_manufacturing_is_section_c(conn: psycopg.AsyncConnection[Any]) -> None:
    res = await resolve_terms(conn, ["Manufacturing"])
    assert len(res.code_list) == 355
    assert {c[:2] for c in res.code_list} == DIVISIONS_C  # 10..32; SSIC 2020 has no 33
    assert all(len(c) == 5 and c.isdigit() for c in res.code_list)
    (tr,) = res.terms
    assert tr.matched == (("C", "section", "MANUFACTURING"),)
    assert tr.reason == "title of SSIC section C 'MANUFACTURING'"
    hit = tr.hits[0]
    assert (hit.via_code, hit.via_level, hit.via_text) == ("C", "section", "MANUFACTURING")
    assert 0 < hit.weight < 1  # a broad section is a weaker fit than a named subclass


async def test_bakery_reaches_the_index_phrase(conn: psycopg.AsyncConnection[Any]) -> None:
    res = await resolve_terms(conn, ["bakery"])
    (tr,) = res.terms
    assert tr.matched[0] == ("10712", "phrase", "Bakery")
    assert tr.reason.startswith("index phrase 'Bakery' (10712)")
    by_code = {h.code: h for h in tr.hits}
    assert by_code["10712"].weight == 1.0
    assert by_code["10712"].title.startswith("Manufacture of bread, cakes")
    assert len(tr.hits) <= 25  # a handful of best matches, not half the registry


async def test_every_reason_names_what_matched(conn: psycopg.AsyncConnection[Any]) -> None:
    terms = [t for case in CASES for t in extract_terms(case.text)][:60]
    for i in range(0, len(terms), 10):
        res = await resolve_terms(conn, terms[i : i + 10])
        for tr in res.terms:
            if not tr.hits:
                assert tr.matched == ()
                assert tr.reason == "no SSIC title or index phrase matched"
                continue
            code, level, text = tr.matched[0]
            assert f"'{text}'" in tr.reason and code in tr.reason and level in tr.reason
            assert level in {"section", "division", "group", "class", "subclass", "phrase"}
            reached = {(h.via_code, h.via_level, h.via_text) for h in tr.hits}
            assert reached <= set(tr.matched)
            assert len(tr.matched) <= 5
            assert all(h.term == tr.term and 0 < h.weight <= 1 for h in tr.hits)


async def test_union_keeps_the_strongest_hit_per_code(conn: psycopg.AsyncConnection[Any]) -> None:
    res = await resolve_terms(conn, ["manufacturing", "bakery", "62", "xyzzy"])
    assert [t.term for t in res.terms] == ["manufacturing", "bakery", "62", "xyzzy"]
    assert res.code_list == sorted(res.code_list)
    assert len(res.code_list) == len(set(res.code_list))
    assert set(res.code_list) == {h.code for t in res.terms for h in t.hits}
    by_code: dict[str, CodeHit] = {h.code: h for h in res.codes}
    # 10712 is in section C (0.7) and is the "Bakery" phrase itself (1.0): the phrase wins.
    assert by_code["10712"].term == "bakery"
    assert by_code["10712"].via_level == "phrase"
    assert by_code["10101"].term == "manufacturing"
    assert {c for c in res.code_list if c.startswith("62")} == {
        "62011",
        "62012",
        "62013",
        "62021",
        "62022",
        "62023",
        "62090",
    }


async def test_summary_is_json_for_graph_state(conn: psycopg.AsyncConnection[Any]) -> None:
    res = await resolve_terms(conn, ["construction", "bakery", "xyzzy"])
    summary = res.summary()
    json.dumps(summary)
    assert [s["term"] for s in summary] == ["construction", "bakery", "xyzzy"]
    assert summary[0] == {
        "term": "construction",
        "level": "section",
        "code": "F",
        "title": "CONSTRUCTION",
        "count": "41",
        "reason": "title of SSIC section F 'CONSTRUCTION'",
    }
    assert summary[1]["level"] == "phrase" and summary[1]["code"] == "10712"
    assert summary[2]["count"] == "0" and summary[2]["code"] == ""


async def test_codes_resolve_by_prefix_only_when_they_exist(
    conn: psycopg.AsyncConnection[Any],
) -> None:
    res = await resolve_terms(conn, ["10712", "62", "620", "6201", "00", "99999", "1", "123456"])
    by_term = {t.term: [h.code for h in t.hits] for t in res.terms}
    assert by_term["10712"] == ["10712"]
    assert by_term["6201"] == ["62011", "62012", "62013"]
    assert by_term["620"] == ["62011", "62012", "62013", "62021", "62022", "62023", "62090"]
    assert len(by_term["62"]) == 7
    assert by_term["00"] == by_term["99999"] == by_term["1"] == by_term["123456"] == []
    assert res.terms[0].reason.startswith("code of SSIC subclass 10712")


@pytest.mark.parametrize(
    "terms",
    [
        [],
        [""],
        ["   ", "\t\n"],
        ["\x00", "bak\x00ery"],
        ["a"],
        ["a" * 500],
        ["'; DROP TABLE ssic_ref; --"],
        ["%", "_", "\\", "%%", "(", ")", "!", "&|:*", "<->", "'", '"', "$1", "%(terms)s"],
        ["🙂", "مصنع", "漢字", "\u202ebakery"],
        ["bakery"] * 50,
        [f"term{i}" for i in range(50)],
        [None, 5, b"bakery", ["x"], {"a": 1}],
        "bakery",
        None,
    ],
)
async def test_odd_input_never_raises(conn: psycopg.AsyncConnection[Any], terms: Any) -> None:
    res = await resolve_terms(conn, terms)
    assert isinstance(res, Resolution)
    assert len(res.terms) <= 10
    assert all(len(c) == 5 and c.isdigit() for c in res.code_list)
    cur = await conn.execute("SELECT count(*) FROM ssic_ref")
    assert await cur.fetchone() == (1711,)
