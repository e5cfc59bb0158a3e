"""The chat graph end to end, in-process, on real PostgreSQL with the ACRA sample."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from langchain_core.messages import AIMessage, HumanMessage

from config.settings import reset_settings
from graph.graph import graph

MANUFACTURING_ROWS = 1171


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
    assert "1,171" in text and f"job {job['job_id']}" in text and "1,161" in text
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
    assert out["terms"] == []
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
