"""Terms resolve to real SSIC 2020 subclasses: the right sense, whole subtrees for names, typos."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg import sql

from nodes.resolve import CodeHit, Resolution, resolve_terms, understand
from tests.helpers import after_2015

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
    Case("manuf", subtree=("section", "C")),
    Case("bakery", includes={"10711", "10712", "10719", "47213"}),
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
    Case("cleaning", exactly={"81211", "81212", "81292", "81299"}),
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
        res = (await understand(conn, case.text)).resolution
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
    assert tr.matched == (("C", "section", "Manufacturing"),)
    assert tr.how == "title"
    assert tr.reason == "title of SSIC section C 'Manufacturing'"
    hit = tr.hits[0]
    assert (hit.via_code, hit.via_level, hit.via_text) == ("C", "section", "MANUFACTURING")
    assert 0 < hit.weight < 1  # a broad section is a weaker fit than a named subclass


async def test_bakery_is_made_and_sold(conn: psycopg.AsyncConnection[Any]) -> None:
    (tr,) = (await resolve_terms(conn, ["bakery"])).terms
    assert tr.how == "synonym"
    assert tr.matched == (
        ("1071", "class", "Manufacture of Bakery Products"),
        ("47213", "subclass", tr.groups[1].title),
    )
    assert {h.code for h in tr.hits} == {"10711", "10712", "10719", "47213"}
    assert tr.reason.startswith("synonym 'bakery' (SSIC class 1071")
    assert tr.groups[0].count == 3


@pytest.mark.parametrize(
    ("text", "wanted", "unwanted"),
    [
        # official titles and curated synonyms over incidental index phrases
        ("law firms", {"69101"}, {"84231"}),  # not "Law court"
        ("software companies", {"62011", "62021"}, {"18200"}),
        # "Other ..." titles never steal a generic name
        ("cleaning services", {"81211", "81212"}, set()),
        ("holding companies", {"64201", "64202"}, set()),
        ("printing", {"18111", "18113"}, set()),
        ("mining and quarrying", {"08101", "09001"}, set()),
        # Singapore usage: a trading company is a general wholesaler
        ("trading companies", {"46900"}, {"66129", "66199"}),
        # stems that are not inflections of each other
        ("hospitals", {"86101"}, {"55101", "56111"}),
        ("securities firms", {"66121"}, {"80100"}),
        ("security companies", {"80100"}, {"66121"}),
        # "it" is a stop word to PostgreSQL, the industry to a salesperson
        ("IT consultancy", {"62021"}, {"70201"}),
    ],
)
async def test_the_right_sense_wins(
    conn: psycopg.AsyncConnection[Any], text: str, wanted: set[str], unwanted: set[str]
) -> None:
    res = (await understand(conn, text)).resolution
    codes = set(res.code_list)
    assert wanted <= codes, (codes, [t.reason for t in res.terms])
    assert not unwanted & codes
    assert not any(t.groups[0].title.lower().startswith("other ") for t in res.terms), [
        t.reason for t in res.terms
    ]


async def test_fuzzy_hits_never_reach_a_whole_division(
    conn: psycopg.AsyncConnection[Any],
) -> None:
    # Words no curated synonym or title names: matched by the entries holding them, or as
    # typos. A guess stays small and never takes a section or division the words do not name.
    words = [
        "sundry",
        "joss",
        "silk screen",
        "handicraft",
        "rattan",
        "disposable diapers",
        "scrap",
        "solar cells",
        "salvage",
        "fertiliser",
        "vaccine",
        "resturants",
        "hotles",
        "crane rental",
        "bankers",
        "durian",
    ]
    fuzzy = 0
    for word in words:
        res = (await understand(conn, word)).resolution
        for tr in res.terms:
            if tr.how in ("text", "typo"):
                fuzzy += 1
                assert all(g.level not in ("section", "division") for g in tr.groups), tr.reason
                assert len(tr.hits) <= 12, tr.reason
    assert fuzzy >= 10


async def test_too_broad_words_get_the_main_groups(conn: psycopg.AsyncConnection[Any]) -> None:
    res = (await understand(conn, "services")).resolution
    assert res.code_list == []
    (tr,) = res.broad
    assert tr.how == "broad" and tr.hits == ()
    offered = {g.code for g in tr.options}
    assert {"H", "J", "K", "M", "Q"} <= offered and "C" not in offered
    assert all(g.level == "section" and g.title and g.count > 0 for g in tr.options)
    for text in ("companies", "business", "SMEs", "any industry", "towkay", "shops"):
        res = (await understand(conn, text)).resolution
        assert res.code_list == [] and res.broad and res.broad[0].options, text


async def test_generic_nouns_and_qualifiers_are_set_aside(
    conn: psycopg.AsyncConnection[Any],
) -> None:
    understood = await understand(conn, "software companies incorporated after 2015 in Jurong")
    assert understood.terms == ["software"]
    parts = understood.set_aside()
    assert after_2015("software") in parts
    assert any(p["kind"] == "location" and p.get("value") == "jurong" for p in parts)
    understood = await understand(conn, "halal bakeries")
    (tr,) = understood.resolution.terms
    assert tr.term == "bakeries" and tr.unused == ("halal",)
    assert {"kind": "unused", "text": "halal", "term": "bakeries"} in understood.set_aside()


async def test_role_nouns_narrow_the_industry(conn: psycopg.AsyncConnection[Any]) -> None:
    makers = set((await understand(conn, "furniture manufacturers")).resolution.code_list)
    shops = set((await understand(conn, "furniture shops")).resolution.code_list)
    any_ = set((await understand(conn, "furniture")).resolution.code_list)
    assert makers and all(c.startswith("31") for c in makers)
    assert shops == {"47531"}
    assert makers | shops < any_


async def test_every_reason_names_what_matched(conn: psycopg.AsyncConnection[Any]) -> None:
    texts = [case.text for case in CASES][:60]
    for text in texts:
        for tr in (await understand(conn, text)).resolution.terms:
            if not tr.hits:
                assert tr.matched == ()
                assert tr.reason == "no SSIC title, synonym or index phrase matched"
                continue
            code, level, title = tr.matched[0]
            assert f"'{title}'" in tr.reason and code in tr.reason and level in tr.reason
            assert level in {"section", "division", "group", "class", "subclass"}
            reached = {h.via_code for h in tr.hits}
            assert reached <= {g.code for g in tr.groups}
            assert sum(g.count for g in tr.groups) >= len(tr.hits)
            assert all(h.term == tr.term and 0 < h.weight <= 1 for h in tr.hits)


async def test_union_keeps_the_strongest_hit_per_code(conn: psycopg.AsyncConnection[Any]) -> None:
    res = await resolve_terms(conn, ["manufacturing", "bakery", "62", "xyzzy"])
    assert [t.term for t in res.terms] == ["manufacturing", "bakery", "62", "xyzzy"]
    assert res.code_list == sorted(res.code_list)
    assert len(res.code_list) == len(set(res.code_list))
    assert set(res.code_list) == {h.code for t in res.terms for h in t.hits}
    by_code: dict[str, CodeHit] = {h.code: h for h in res.codes}
    # 10712 is in section C (0.7) and in the bakery class (0.9): the bakery match wins.
    assert by_code["10712"].term == "bakery"
    assert by_code["10712"].via_code == "1071"
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
        "text": "construction",
        "how": "title",
        "phrase": "CONSTRUCTION",
        "level": "section",
        "code": "F",
        "title": "Construction",
        "count": 41,
        "reason": "title of SSIC section F 'Construction'",
        "groups": [{"code": "F", "level": "section", "title": "Construction", "count": 41}],
        "unused": [],
        "options": [],
    }
    assert summary[1]["how"] == "synonym" and summary[1]["code"] == "1071"
    assert summary[2]["count"] == 0 and summary[2]["code"] == "" and summary[2]["how"] == "none"


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


async def test_the_kept_hierarchy_follows_a_reloaded_reference(
    conn: psycopg.AsyncConnection[Any],
) -> None:
    # The process keeps a copy of the SSIC hierarchy, checked against the reference's
    # checksum on every resolution: a reloaded reference (a new edition) is seen at once.
    (before,) = (await resolve_terms(conn, ["restaurants"])).terms
    assert before.groups[0].title == "Restaurants"
    await conn.execute("UPDATE ssic_ref SET title = 'Restaurants (renamed)' WHERE code = '56111'")
    await conn.execute("UPDATE reference_data SET checksum = 'next' WHERE name = 'ssic2020'")
    (after,) = (await resolve_terms(conn, ["restaurants"])).terms
    assert after.groups[0].title == "Restaurants (renamed)"
    assert after.hits[0].title == "Restaurants (renamed)"
