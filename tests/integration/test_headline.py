"""The chat's headline says what was searched: every matched SSIC group with its official
title and number of codes, the live/total counts, what was set aside and what was not used."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage

from graph.graph import graph
from tests.helpers import after_2015, written_rows

pytestmark = pytest.mark.integration


async def chat(text: str) -> tuple[dict[str, Any], str]:
    out = await graph.ainvoke({"messages": [{"type": "human", "content": text}]})
    last = out["messages"][-1]
    assert isinstance(last, AIMessage)
    return out, str(last.content)


async def test_every_group_is_named_with_its_official_title_and_count(app_db: str) -> None:
    out, text = await chat("manufacturing, logistics, IT")
    assert [r["term"] for r in out["resolutions"]] == ["manufacturing", "logistics", "it"]
    assert "Manufacturing \u2192 SSIC section C \u201cManufacturing\u201d (355 codes)" in text
    # Every group of a multi-group term, with official titles (not index phrases).
    assert "Logistics \u2192 7 codes: SSIC 52292 \u201cFreight transport arrangement\u201d" in text
    assert "SSIC class 5210 \u201cWarehousing and Storage\u201d (4 codes)" in text
    assert "SSIC 53200 \u201cCourier activities other than national post activities\u201d" in text
    assert "IT \u2192 SSIC division 62 \u201cComputer programming, information technology" in text
    total, live = out["total"], out["live"]
    assert 0 < live < total
    assert f"{total:,} companies in the registry ({live:,} live)." in text


async def test_a_term_is_shown_as_the_match_read_it(app_db: str) -> None:
    # A leading shop word the vocabulary names with the term stays in the heading; a
    # trailing generic noun does not.
    _, text = await chat("kedai makan")
    assert text.startswith("Kedai makan \u2192 2 codes: SSIC 56111 \u201cRestaurants\u201d")
    _, text = await chat("software companies")
    assert text.startswith("Software \u2192 ")


async def test_set_aside_parts_are_kept_and_named(app_db: str) -> None:
    out, text = await chat("halal bakeries in Tampines incorporated after 2015")
    assert out["terms"] == ["bakeries"]
    kinds = {p["kind"]: p for p in out["set_aside"]}
    assert kinds["location"]["value"] == "tampines"
    assert kinds["date"] == after_2015("bakeries")
    assert kinds["unused"] == {"kind": "unused", "text": "halal", "term": "bakeries"}
    assert "Words not used: \u201chalal\u201d." in text
    # The place and the years chose the table's companies (and filter the next pages).
    assert "Not applied yet" not in text
    assert "matching **incorporated 2016 or later; in Tampines (postal sector 52)**" in text
    # A qualifier no filter stands for is still named as not applied.
    _, text = await chat("big bakeries")
    assert "Not applied yet: \u201cbig\u201d (size)" in text
    # Singapore is the registry's own scope: not a filter to apologise for.
    _, text = await chat("bakeries in Singapore")
    assert "Not applied yet" not in text


async def test_too_broad_gets_the_main_groups_and_writes_nothing(app_db: str) -> None:
    out, text = await chat("services")
    assert out["codes"] == [] and out["job"] is None and out["head"] == []
    clarify = out["clarify"]
    assert clarify["terms"] == ["services"]
    titles = [o["title"] for o in clarify["options"]]
    assert "Transportation and storage" in titles and "Manufacturing" not in titles
    assert "too broad" in text and all(t in text for t in titles)
    assert "Nothing was searched or queued." in text
    assert written_rows(app_db) == (0, 0, 0)


async def test_a_broad_word_beside_an_industry_is_left_out_and_said(app_db: str) -> None:
    out, text = await chat("bakeries and contractors")
    assert {c["code"] for c in out["codes"]} == {"10711", "10712", "10719", "47213"}
    assert out["clarify"]["terms"] == ["contractors"]
    assert "\u201ccontractors\u201d is too broad and was left out" in text


async def test_typos_and_unmatched_terms_are_said(app_db: str) -> None:
    out, text = await chat("resturants, qwxzv")
    assert [c["code"] for c in out["codes"]] == ["56111"]
    assert "(read as \u201crestaurant" in text
    assert "\u201cqwxzv\u201d matched no SSIC industry and was left out." in text
