"""The chat graph end to end, in-process, on real PostgreSQL with the ACRA sample."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from langchain_core.messages import AIMessage, HumanMessage

from config.settings import reset_settings
from graph.graph import graph

MANUFACTURING_ROWS = 1659


def human(text: str) -> dict[str, Any]:
    """Return a human message the way agent-chat-ui sends it (content blocks)."""
    return {"type": "human", "content": [{"type": "text", "text": text}]}


async def ask(text: str, **configurable: Any) -> dict[str, Any]:
    config = {"configurable": configurable} if configurable else None
    return await graph.ainvoke({"messages": [human(text)]}, config)  # type: ignore[arg-type]


def counts(url: str, tenant: str = "default") -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        companies = conn.execute("SELECT count(*) FROM companies").fetchone()
        scores = conn.execute(
            "SELECT count(*) FROM lead_scores WHERE tenant_id = %s", (tenant,)
        ).fetchone()
        jobs = conn.execute("SELECT count(*) FROM background_jobs").fetchone()
    assert companies and scores and jobs
    return int(companies[0]), int(scores[0]), int(jobs[0])


def reply(out: dict[str, Any]) -> str:
    last = out["messages"][-1]
    assert isinstance(last, AIMessage)
    return str(last.content)


async def test_background_mode_upserts_head_and_queues_rest(app_db: str) -> None:
    out = await ask("Manufacturing")
    assert out["mode"] == "background"
    assert out["total"] == MANUFACTURING_ROWS
    assert len(out["codes"]) == 355
    assert len(out["head"]) == 10
    job = out["job"]
    assert job is not None and job["created"] and job["status"] == "queued"
    assert job["total"] == MANUFACTURING_ROWS and job["remaining"] == MANUFACTURING_ROWS - 10
    assert counts(app_db) == (10, 10, 1)
    text = reply(out)
    assert "1,659" in text and f"job {job['job_id']}" in text and "1,649" in text
    assert out["head"][0]["name"] in text
    # Head rows are scored best first, with bucket and rationale.
    scores = [h["score"] for h in out["head"]]
    assert scores == sorted(scores, reverse=True)
    assert all(h["bucket"] in {"high", "medium", "low"} and h["rationale"] for h in out["head"])
    # Live entities come first.
    with psycopg.connect(app_db) as conn:
        live = conn.execute("SELECT count(*) FROM companies WHERE is_live").fetchone()
    assert live == (10,)


async def test_repeat_is_idempotent(app_db: str) -> None:
    first = await ask("Manufacturing")
    second = await ask("manufacturing companies please")
    assert second["job"]["job_id"] == first["job"]["job_id"]
    assert second["job"]["created"] is False
    assert counts(app_db) == (10, 10, 1)
    assert "already in job" in reply(second)


async def test_off_mode_writes_nothing(app_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGING_UPSERT_MODE", "off")
    reset_settings()
    out = await ask("Manufacturing")
    assert out["mode"] == "off" and out["head"] == [] and out["job"] is None
    assert counts(app_db) == (0, 0, 0)
    assert "switched off" in reply(out)


async def test_sync_preview_writes_nothing_and_samples(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAGING_UPSERT_MODE", "sync_preview")
    reset_settings()
    out = await ask("Manufacturing")
    assert out["mode"] == "sync_preview"
    assert 0 < len(out["candidates"]) <= 20
    assert all(c["industry_code"][:2] <= "32" for c in out["candidates"])
    assert counts(app_db) == (0, 0, 0)
    assert "Preview only" in reply(out)


async def test_sync_limit_zero_skips_head(app_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSERT_SYNC_LIMIT", "0")
    reset_settings()
    out = await ask("Manufacturing")
    assert out["head"] == []
    assert out["job"]["remaining"] == MANUFACTURING_ROWS
    assert counts(app_db) == (0, 0, 1)


async def test_tenant_override_beats_global_mode(app_db: str) -> None:
    with psycopg.connect(app_db) as conn:
        conn.execute(
            "INSERT INTO tenant_settings (tenant_id, staging_upsert_mode) VALUES ('acme', 'off')"
        )
    out = await ask("Manufacturing", tenant_id="acme")
    assert out["mode"] == "off"
    assert counts(app_db, "acme") == (0, 0, 0)
    other = await ask("Manufacturing", tenant_id="globex")
    assert other["mode"] == "background"
    assert counts(app_db, "globex")[1] == 10


@pytest.mark.parametrize(
    "text", ["ok", "thanks!", "hello there", "https://example.com/x", "who are you?", "", "  "]
)
async def test_chit_chat_writes_nothing(app_db: str, text: str) -> None:
    out = await ask(text)
    assert out.get("terms", []) == [] and out["intent"] in ("chat", "search")
    assert "industry" in reply(out).lower()
    assert counts(app_db) == (0, 0, 0)


async def test_message_shapes(app_db: str) -> None:
    for message in (
        HumanMessage(content="bakery"),
        {"role": "user", "content": "bakery"},
        {"type": "user", "content": [{"type": "text", "text": "bakery"}]},
    ):
        out = await graph.ainvoke({"messages": [message]})  # type: ignore[arg-type]
        assert any(c["code"] == "10712" for c in out["codes"]), message


async def test_unmatched_term_gets_helpful_reply(app_db: str) -> None:
    out = await ask("xyzzyqwv")
    assert out["codes"] == []
    assert "couldn't match" in reply(out)
    assert counts(app_db) == (0, 0, 0)


async def test_unreachable_database_answers_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    from db.pool import close_pool

    await close_pool()
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none?connect_timeout=1")
    monkeypatch.setenv("ICP_HEAD_BUDGET_MS", "500")
    reset_settings()
    try:
        start = time.perf_counter()
        out = await ask("Manufacturing")
        elapsed = time.perf_counter() - start
    finally:
        await close_pool()
    assert elapsed < 1.5
    assert "failed" in reply(out) and "database" in reply(out)
    assert out["job"] is None and out["head"] == []


async def test_reply_time_is_recorded(app_db: str) -> None:
    from jobs.metrics import REGISTRY

    def count() -> float:
        value = REGISTRY.get_sample_value("icp_chat_time_to_reply_seconds_count")
        return float(value or 0)

    before = count()
    await ask("bakery")
    await ask("thanks")
    assert count() == before + 2


async def test_with_auth_on_a_run_acts_only_for_its_users_tenant(
    app_db: str, auth_on: None
) -> None:
    from nodes.context import NO_TENANT

    # The verified user's tenant decides; a client-supplied tenant_id is ignored.
    out = await ask("bakery", langgraph_auth_user={"identity": "bob", "tenant_id": "acme"},
                    tenant_id="globex")  # fmt: skip
    assert len(out["head"]) == 10
    assert counts(app_db, "acme")[1] == 10 and counts(app_db, "globex")[1] == 0
    # A user without a tenant (a run the server started for a bare user id) acts for no
    # tenant at all: before, its id ("acme" here) was taken as the tenant.
    before = counts(app_db, "acme")
    out = await ask("logistics", langgraph_auth_user={"identity": "acme"})
    assert out["errors"] == [NO_TENANT] and reply(out).startswith(NO_TENANT)
    assert out["codes"] == [] and counts(app_db, "acme") == before


def cards_of(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the reply's generative-UI cards by name (each tied to the reply's id)."""
    reply_id = out["messages"][-1].id
    mine = [u for u in out["ui"] if u["metadata"].get("message_id") == reply_id]
    assert len({u["name"] for u in mine}) == len(mine), mine
    return {u["name"]: u["props"] for u in mine}


async def test_reply_carries_search_leads_and_job_cards(app_db: str) -> None:
    with psycopg.connect(app_db, autocommit=True) as conn:  # a nightly server is alive
        conn.execute(
            "INSERT INTO job_runners (runner_id, kind, claims, cron, cron_tz)"
            " VALUES ('srv', 'server', 'released', '0 2 * * *', 'Asia/Singapore')"
        )
    out = await ask("Manufacturing")
    cards = cards_of(out)
    assert list(cards) == ["search", "leads", "job"]
    search, leads, job = cards["search"], cards["leads"], cards["job"]
    assert search["groups"] == [
        {
            "term": "manufacturing",
            "code": "C",
            "level": "section",
            "title": "Manufacturing",
            "codes": 355,
            "total": MANUFACTURING_ROWS,
            "live": 566,
        }
    ]
    assert (search["total"], search["live"], search["unused"]) == (MANUFACTURING_ROWS, 566, [])
    assert leads["rows"] == out["head"] and leads["first"] == 1 and leads["more"] == "more"
    assert leads["job_id"] == out["job"]["job_id"] == job["job_id"]
    assert all(r["status"] and r["incorporation_year"] and r["area"] for r in leads["rows"])
    assert (job["status"], job["total"], job["remaining"]) == ("queued", 1659, 1649)
    assert job["runs_at"] and job["runs_at"].endswith("+08:00")  # NIGHTLY_TZ Asia/Singapore
    # The text stands alone: a markdown table of the same companies, best first.
    text = reply(out)
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| # | Company | UEN | Score | Status | Est. | Area |")
    assert [row.split(" | ")[2] for row in table[1:]] == [r["uen"] for r in leads["rows"]]


async def test_cards_name_what_is_not_used_and_skip_what_did_not_happen(app_db: str) -> None:
    out = await ask("bakery, qwxzv plorkish")
    cards = cards_of(out)
    assert cards["search"]["unused"] == ["qwxzv plorkish"]
    # One group per industry the term matched (bakeries make and sell bread).
    assert {g["term"] for g in cards["search"]["groups"]} == {"bakery"}
    assert sum(g["total"] for g in cards["search"]["groups"]) == out["total"]
    assert cards_of(await ask("thanks!")) == {}
    assert cards_of(await ask("xyzzyqwv")) == {}


async def test_preview_and_off_modes_show_only_the_search_card(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAGING_UPSERT_MODE", "sync_preview")
    reset_settings()
    cards = cards_of(await ask("Manufacturing"))
    assert list(cards) == ["search"] and cards["search"]["mode"] == "sync_preview"
    monkeypatch.setenv("STAGING_UPSERT_MODE", "off")
    reset_settings()
    cards = cards_of(await ask("Manufacturing"))
    assert list(cards) == ["search"] and cards["search"]["mode"] == "off"


async def test_more_pages_the_active_search_and_queues_nothing(app_db: str) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from graph.graph import builder
    from jobs.runner import drain

    chat = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "more"}}

    async def say(text: str) -> dict[str, Any]:
        return await chat.ainvoke({"messages": [human(text)]}, config)

    first = await say("Manufacturing")
    head = [r["company_id"] for r in first["head"]]
    # Before the job ran: "more" scores the next best ten itself and queues nothing.
    early = await say("more")
    assert len(early["page"]) == 10 and not {r["company_id"] for r in early["page"]} & set(head)
    assert list(cards_of(early)) == ["leads"] and cards_of(early)["leads"]["first"] == 11
    assert "11\u201320" in reply(early) and "scored so far" not in reply(early)
    assert counts(app_db) == (20, 20, 1)

    await drain()
    before = counts(app_db)
    seen = head + [r["company_id"] for r in early["page"]]
    second = await say("more")
    page = second["page"]
    assert len(page) == 10 and not {r["company_id"] for r in page} & set(seen)
    with psycopg.connect(app_db) as conn:
        best = conn.execute(
            "SELECT ls.company_id FROM lead_scores ls JOIN companies c USING (company_id)"
            " WHERE c.is_live AND c.industry_code LIKE ANY(%s) AND ls.company_id <> ALL(%s)"
            " ORDER BY ls.score DESC, ls.company_id DESC LIMIT 10",
            ([f"{d:02d}%" for d in range(10, 33)], seen),
        ).fetchall()
    assert [r["company_id"] for r in page] == [r[0] for r in best]
    leads = cards_of(second)["leads"]
    assert list(cards_of(second)) == ["leads"]
    assert leads["rows"] == page and leads["first"] == 21 and leads["terms"] == ["manufacturing"]
    assert "21\u201330" in reply(second) and page[0]["uen"] in reply(second)

    third = await say("show me 5 more")
    assert len(third["page"]) == 5 and cards_of(third)["leads"]["first"] == 31
    assert not {r["company_id"] for r in third["page"]} & {r["company_id"] for r in page}
    assert counts(app_db) == before  # paging a fully scored search wrote and queued nothing
    # A new search starts over.
    fresh = await say("bakery")
    assert cards_of(fresh)["leads"]["first"] == 1 and fresh["intent"] == "search"


async def test_more_without_a_search_asks_for_an_industry(app_db: str) -> None:
    out = await ask("more")
    assert out["intent"] == "more" and "no search to continue" in reply(out)
    assert cards_of(out) == {} and counts(app_db) == (0, 0, 0)
