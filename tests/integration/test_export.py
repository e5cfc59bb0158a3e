"""GET /leads/export.csv on real PostgreSQL: a saved search's leads as a file, complete,
best first, live only unless asked, the caller's own, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import psycopg
import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graph.graph import builder
from jobs.runner import drain
from tests.integration.test_leads import bearer

pytestmark = pytest.mark.integration


async def search(text: str, tenant: str = "default") -> dict[str, Any]:
    """Run one chat search for ``tenant`` and drain its job (everything scored)."""
    chat = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": f"{tenant}-{text}", "tenant_id": tenant}}
    message = {"type": "human", "content": [{"type": "text", "text": text}]}
    out = await chat.ainvoke({"messages": [message]}, config)
    await drain()
    return out


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def thread(thread_id: str) -> Callable[[str], Awaitable[dict[str, Any]]]:
    """Return ``say``: one message to a chat thread on the compiled graph, its state back."""
    chat = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": thread_id}}

    async def say(text: str) -> dict[str, Any]:
        message = {"type": "human", "content": [{"type": "text", "text": text}]}
        return await chat.ainvoke({"messages": [message]}, config)

    return say


async def test_the_file_holds_every_scored_live_lead_best_first(
    client: httpx.AsyncClient, app_db: str
) -> None:
    out = await search("precision engineering")
    sid = out["search_id"]
    live = rows_of(await client.get("/leads/export.csv", params={"search_id": sid}))
    every = rows_of(
        await client.get("/leads/export.csv", params={"search_id": sid, "status": "all"})
    )
    assert len(live) == out["live"] and len(every) == out["total"]  # all scored, none twice
    assert {r["live"] for r in live} == {"yes"} and {r["live"] for r in every} == {"yes", "no"}
    assert [r["rank"] for r in every] == [str(i) for i in range(1, len(every) + 1)]
    with psycopg.connect(app_db) as conn:
        expected = conn.execute(
            "SELECT c.uen, ls.score::int FROM lead_scores ls JOIN companies c USING (company_id)"
            " WHERE ls.search_id = %s ORDER BY ls.score DESC, ls.company_id DESC",
            (sid,),
        ).fetchall()
    assert [(r["uen"], int(r["score"])) for r in every] == expected
    top = every[0]
    assert top["uen"] == out["head"][0]["uen"] and top["why"].startswith("fit ")
    assert top["area"] and top["ssic_code"] and top["industry"] and top["address"]
    disposition = (await client.get("/leads/export.csv", params={"search_id": sid})).headers
    assert 'filename="leads-precision-engineering-' in disposition["content-disposition"]


async def test_another_tenants_or_a_missing_search_is_a_404(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings
    from tests.helpers import AUTH_SECRET

    sid = (await search("bakery", tenant="acme"))["search_id"]  # auth off: tenant from config
    monkeypatch.setenv("ICP_AUTH_JWT_SECRET", AUTH_SECRET)
    reset_settings()
    own = await client.get("/leads/export.csv", params={"search_id": sid}, headers=bearer("acme"))
    assert len(rows_of(own)) > 0
    other = await client.get(
        "/leads/export.csv", params={"search_id": sid}, headers=bearer("globex")
    )
    assert other.status_code == 404 and "no saved search" in other.json()["detail"]
    assert (await client.get("/leads/export.csv", params={"search_id": sid})).status_code == 401
    for bad in ({"search_id": "x"}, {"search_id": 0}, {"search_id": sid, "status": "dead"}, {}):
        answer = await client.get("/leads/export.csv", params=bad, headers=bearer("acme"))
        assert answer.status_code == 400, (bad, answer.text)


async def test_cells_that_look_like_formulas_are_quoted(
    client: httpx.AsyncClient, app_db: str
) -> None:
    out = await search("precision engineering")
    uen = out["head"][0]["uen"]
    with psycopg.connect(app_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE companies SET name = %s, address = '+65 1' WHERE uen = %s",
            ('=HYPERLINK("http://x")', uen),
        )
    rows = rows_of(
        await client.get("/leads/export.csv", params={"search_id": out["search_id"]})
    )
    mine = next(r for r in rows if r["uen"] == uen)
    assert mine["name"] == "'=HYPERLINK(\"http://x\")" and mine["address"] == "'+65 1"


async def test_the_chats_export_link_holds_exactly_the_threads_filtered_leads(
    client: httpx.AsyncClient,
) -> None:
    """ "export these" after filters: the link the chat gives downloads the same leads, in
    the same order, as paging the thread to its end under those filters."""
    say = thread("export-filters")

    first = await say("precision engineering")
    await drain()
    out = await say("only live pte ltds in Jurong incorporated after 2000")
    assert out["filters"]["sectors"] and out["filters"]["entity"] == "company"
    paged = [r["uen"] for r in out["page"]]
    while True:
        more = await say("next 50")
        if not more["page"]:
            break
        paged += [r["uen"] for r in more["page"]]
    assert 0 < len(paged) < first["live"]  # the filters leave some out, not all
    answer = await say("export these to excel")
    text = str(answer["messages"][-1].content)
    assert "under this thread's filters (live only" in text and "Jurong" in text
    link = text.split("**[Download the CSV](", 1)[1].split(")**", 1)[0]
    assert link.startswith("/leads/export.csv?search_id=") and "sectors=60," in link
    assert "year_min=2001" in link and "entity=company" in link
    rows = rows_of(await client.get(link))
    assert [r["uen"] for r in rows] == paged
    assert all(int(r["incorporated"]) >= 2001 and r["postal_code"][:2] in
               out["filters"]["sectors"] and r["live"] == "yes" for r in rows)  # fmt: skip
    plain = rows_of(await client.get("/leads/export.csv", params={"search_id": first["search_id"]}))
    assert len(plain) == first["live"]  # without the filters: every live lead


async def test_the_chats_export_link_keeps_a_score_bucket(client: httpx.AsyncClient) -> None:
    """ "just the medium ones" then "export these": the file holds the medium bucket's live
    leads (65 to 84), as paging the thread shows them."""
    say = thread("export-medium")

    await say("IT consultancies")
    await drain()
    out = await say("just the medium ones")
    paged = [r["uen"] for r in out["page"]]
    while more := (await say("next 50"))["page"]:
        paged += [r["uen"] for r in more]
    text = str((await say("export these"))["messages"][-1].content)
    link = text.split("**[Download the CSV](", 1)[1].split(")**", 1)[0]
    assert "min_score=65" in link and "max_score=84" in link
    rows = rows_of(await client.get(link))
    assert paged and [r["uen"] for r in rows] == paged
    assert all(65 <= int(r["score"]) <= 84 for r in rows)


async def test_leads_the_user_hid_leave_the_pages_and_the_file(
    client: httpx.AsyncClient,
) -> None:
    """ "hide #2 and #4" (already customers): the thread's pages and the chat's file leave
    them out, the reply says how many are hidden, "show hidden" brings them back, and a rank
    the list does not have hides nothing."""
    say = thread("export-hidden")

    first = await say("IT consultancies")
    await drain()
    top = (await say("top 10"))["page"]
    hid = await say("hide #2 and #4")
    text = str(hid["messages"][-1].content)
    assert hid["filters"]["hidden"] == sorted([top[1]["company_id"], top[3]["company_id"]])
    assert text.startswith("Hid them.\n\nLeads for") and "2 leads you hid left out" in text
    kept = [r["uen"] for i, r in enumerate(top) if i not in (1, 3)]
    paged = [r["uen"] for r in hid["page"]]
    assert paged[:8] == kept
    while more := (await say("next 50"))["page"]:
        paged += [r["uen"] for r in more]
    assert len(paged) == first["live"] - 2 and top[1]["uen"] not in paged
    export = str((await say("export these"))["messages"][-1].content)
    link = export.split("**[Download the CSV](", 1)[1].split(")**", 1)[0]
    assert "hidden=" in link
    assert [r["uen"] for r in rows_of(await client.get(link))] == paged
    nothing = await say("hide #999")
    assert str(nothing["messages"][-1].content).startswith("There is no #999 in this thread's")
    assert nothing["filters"] == hid["filters"]
    back = await say("show hidden")
    assert "The leads you hid are back in the list." in str(back["messages"][-1].content)
    assert "hidden" not in back["filters"]
    assert [r["uen"] for r in back["page"]] == [r["uen"] for r in top]


async def test_bad_export_filters_are_a_400(client: httpx.AsyncClient) -> None:
    sid = (await search("bakery"))["search_id"]
    for bad in (
        {"sectors": "6"},
        {"sectors": "60,,61"},
        {"year_min": 2020, "year_max": 2010},
        {"year_min": "soon"},
        {"entity": "llc"},
        {"min_officers": 0},
        {"min_score": 101},
        {"max_score": -1},
        {"min_score": 80, "max_score": 70},
        {"status": "dead"},
        {"hidden": "x"},
        {"hidden": "1,,2"},
        {"hidden": ",".join(["7"] * 501)},
    ):
        answer = await client.get("/leads/export.csv", params={"search_id": sid, **bad})
        assert answer.status_code == 400, (bad, answer.text)
        assert answer.json()["detail"], bad
    fine = await client.get(
        "/leads/export.csv", params={"search_id": sid, "min_score": 0, "sectors": "01,60"}
    )
    assert fine.status_code == 200
