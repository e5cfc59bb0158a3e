"""Failures are told apart and reported once: busy vs down vs bug, in routes, nodes, runner.

Faults are injected into the real code paths (a node's database call, a route's query,
the runner's batch) on real PostgreSQL; each unexpected exception must leave exactly one
JSON line on ``icp.errors`` (``tests.helpers.error_lines`` also fails on any other,
unstructured error record) and an answer that says what failed: never a stack trace,
never "the database is down" while it is up, never "0 companies" for a failed count.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import psycopg
import pytest
from langchain_core.messages import AIMessage

from config.settings import reset_settings
from tests.helpers import error_lines

pytestmark = pytest.mark.integration


def human(text: str) -> dict[str, Any]:
    return {"type": "human", "content": [{"type": "text", "text": text}]}


async def chat(text: str) -> tuple[dict[str, Any], str]:
    from graph.graph import graph

    out = await graph.ainvoke({"messages": [human(text)]})  # type: ignore[arg-type]
    last = out["messages"][-1]
    assert isinstance(last, AIMessage)
    return out, str(last.content)


async def _boom(*args: Any, **kwargs: Any) -> Any:
    raise KeyError("injected")


def _compose_boom(state: Any) -> str:
    raise KeyError("injected")


# (node, module attribute the fault replaces, what the reply says failed)
NODE_FAULTS = [
    (
        "normalize",
        "nodes.normalize.count_matching_by_term",
        "Counting the matching companies failed",
    ),
    ("head_upsert", "nodes.head_upsert.upsert_scored", "Scoring the first companies failed"),
    ("enqueue", "nodes.enqueue.enqueue_staging_upsert", "Queueing the rest failed"),
    ("respond", "nodes.respond.compose", "Writing the reply failed"),
]


@pytest.mark.parametrize(("node", "target", "said"), NODE_FAULTS, ids=[n[0] for n in NODE_FAULTS])
async def test_a_bug_in_a_node_is_one_log_line_and_a_reply_with_its_error_id(
    app_db: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    node: str,
    target: str,
    said: str,
) -> None:
    monkeypatch.setattr(target, _compose_boom if node == "respond" else _boom)
    out, text = await chat("Manufacturing")  # 1,171 rows: every node runs
    [line] = error_lines(caplog.records)
    assert (line["stage"], line["node"], line["kind"]) == ("chat", node, "bug")
    assert line["error"] == "KeyError: 'injected'" and "_boom" in line["traceback"]
    assert line["tenant"] == "default"
    assert f"{said}: an internal error occurred (error id {line['error_id']})." in text
    assert "Traceback" not in text and "injected" not in text
    assert "0 companies" not in text and "unavailable" not in text


async def test_a_count_past_the_budget_says_it_failed_never_zero(
    app_db: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ICP_HEAD_BUDGET_MS", "300")
    reset_settings()

    async def slow_count(*args: Any) -> dict[str, tuple[int, int]]:
        await asyncio.sleep(5)
        raise AssertionError("the budget did not stop the count")

    monkeypatch.setattr("nodes.normalize.count_matching_by_term", slow_count)
    out, text = await chat("Manufacturing")
    assert out["total"] is None and out["codes"] and out["job"] is None
    assert "Manufacturing \u2192 SSIC section C" in text  # what matched is still said
    assert (
        "Counting the matching companies failed: the database did not answer within the time "
        "budget; please retry." in text
    )
    assert "0 companies" not in text and "No registry companies" not in text
    [line] = error_lines(caplog.records)
    assert (line["node"], line["kind"]) == ("normalize", "slow")
    assert line["error"] == "TimeoutError: no message"
    assert "traceback" not in line  # an operational failure, not a bug


@pytest.fixture
async def small_pool(app_db: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    """A pool of two connections (ICP_DB_POOL_MAX=2), both held by other work."""
    from db.pool import close_pool, get_pool

    await close_pool()
    monkeypatch.setenv("ICP_DB_POOL_MAX", "2")
    monkeypatch.setenv("ICP_HEAD_BUDGET_MS", "300")
    reset_settings()
    pool = await get_pool()
    await pool.wait()
    async with AsyncExitStack() as stack:
        for _ in range(2):
            await stack.enter_async_context(pool.connection())
        assert pool.get_stats()["pool_available"] == 0
        yield pool


async def test_a_full_pool_is_busy_not_down_in_the_chat(
    small_pool: Any, caplog: pytest.LogCaptureFixture
) -> None:
    out, text = await chat("bakery")
    assert out["errors"] == [
        "Looking up industries failed: the service is busy right now; please retry in a moment."
    ]
    assert "unavailable" not in text and "unreachable" not in text
    [line] = error_lines(caplog.records)
    assert (line["node"], line["kind"]) == ("normalize", "busy")


async def test_a_full_pool_is_a_503_with_retry_after_not_database_down(
    small_pool: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from api import deps
    from api.app import app

    monkeypatch.setattr(deps, "ROUTE_CONNECT_TIMEOUT_S", 0.3)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        res = await client.get("/icp/preview", params={"q": "Manufacturing"}, headers={
            "x-request-id": "req-42"})  # fmt: skip
    assert res.status_code == 503 and res.headers["retry-after"] == "1", res.text
    body = res.json()
    assert body["detail"] == "the service is busy right now; please retry in a moment"
    [line] = error_lines(caplog.records)
    assert (line["kind"], line["request_id"], line["error_id"]) == ("busy", "req-42", body[
        "error_id"])  # fmt: skip
    assert line["error"].startswith("PoolTimeout:")


async def test_a_queue_beyond_five_per_connection_is_refused_at_once_as_busy(
    small_pool: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from api import deps
    from api.app import app
    from db.pool import QUEUE_PER_CONNECTION

    monkeypatch.setattr(deps, "ROUTE_CONNECT_TIMEOUT_S", 2.0)
    queue = QUEUE_PER_CONNECTION * 2  # ICP_DB_POOL_MAX=2
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = await asyncio.gather(
            *(client.get("/icp/preview", params={"q": "bakery"}) for _ in range(queue + 4))
        )
    assert {(r.status_code, r.headers.get("retry-after")) for r in answers} == {(503, "1")}
    assert {r.json()["detail"] for r in answers} == {
        "the service is busy right now; please retry in a moment"
    }
    lines = error_lines(caplog.records)
    assert {line["kind"] for line in lines} == {"busy"} and len(lines) == queue + 4
    kinds = Counter(line["error"].split(":")[0] for line in lines)
    assert kinds == {"PoolTimeout": queue, "TooManyRequests": 4}  # waited / refused at once


async def test_a_bug_in_a_route_is_a_500_with_an_error_id(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from jobs import queue

    async def broken_list(conn: Any, **kwargs: Any) -> list[dict[str, Any]]:
        await conn.execute("SELECT no_such_column FROM background_jobs")
        return []

    monkeypatch.setattr(queue, "list_jobs", broken_list)
    res = await client.get("/jobs")
    assert res.status_code == 500 and "retry-after" not in res.headers
    body = res.json()
    assert body["detail"] == f"an internal error occurred (error id {body['error_id']})"
    assert "no_such_column" not in res.text
    [line] = error_lines(caplog.records)
    assert (line["stage"], line["kind"], line["path"]) == ("http", "bug", "/jobs")
    assert line["error"].startswith("UndefinedColumn:") and line["error_id"] == body["error_id"]


async def test_a_bug_in_the_runner_ends_the_job_in_error_with_one_log_line(
    app_db: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from jobs import runner
    from tests.integration.jobs_support import enqueue, job, manufacturing_codes

    job_id = await enqueue(app_db, manufacturing_codes(app_db)[:20])
    monkeypatch.setattr(runner, "upsert_scored_batch", _boom)
    reports = await runner.drain()
    assert [(r.job_id, r.status) for r in reports] == [(job_id, "error")]
    assert job(app_db, job_id)["error"] == "KeyError: 'injected'"
    [line] = error_lines(caplog.records)
    assert (line["stage"], line["job_id"], line["kind"]) == ("staging_upsert", job_id, "bug")
    assert line["transient"] is False and "_boom" in line["traceback"]


def test_a_second_asyncio_run_gets_a_working_pool(
    sample_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's in-process use: a script that runs the graph in two event loops."""
    from db import pool as pool_mod

    monkeypatch.setenv("DATABASE_URL", sample_db)
    reset_settings()

    async def first() -> Any:
        pool = await pool_mod.get_pool()
        async with pool.connection(timeout=5) as conn:
            await conn.execute("SELECT 1")
        out, _ = await chat("Manufacturing")
        assert out["errors"] == [] and out["job"]["created"]
        return pool  # left open, as a script that never calls close_pool() would

    async def second() -> tuple[Any, dict[str, Any]]:
        try:
            pool = await pool_mod.get_pool()
            async with pool.connection(timeout=5) as conn:
                await conn.execute("SELECT 1")
            out, _ = await chat("Manufacturing")
            return pool, out
        finally:
            await pool_mod.close_pool()

    stale = asyncio.run(first())
    fresh, out = asyncio.run(second())
    assert fresh is not stale
    assert out["errors"] == [] and len(out["head"]) == 10, out["errors"]
    assert out["job"] is not None and not out["job"]["created"]  # the first chat's job
    with psycopg.connect(sample_db) as conn:
        assert conn.execute("SELECT count(*) FROM background_jobs").fetchone() == (1,)


async def test_a_server_out_of_connections_is_busy_not_down(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL refusing new connections because all are taken is up, just full."""
    import uuid

    from psycopg_pool import PoolTimeout

    from db import pool as pool_mod
    from jobs.failures import classify

    role = f"icp_full_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(app_db, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")
    try:
        as_role = psycopg.conninfo.make_conninfo(app_db, user=role)
        await pool_mod.close_pool()
        monkeypatch.setenv("DATABASE_URL", as_role)
        monkeypatch.setattr(pool_mod, "_probe", None)
        reset_settings()
        async with await psycopg.AsyncConnection.connect(as_role):  # the only one allowed
            assert await pool_mod.database_reachable()
            assert await classify(PoolTimeout("no connection in 3 s")) == "busy"
        monkeypatch.setattr(pool_mod, "_probe", None)
        monkeypatch.setenv("DATABASE_URL", psycopg.conninfo.make_conninfo(app_db, port="1"))
        reset_settings()
        assert await classify(PoolTimeout("no connection in 3 s")) == "unavailable"
    finally:
        with psycopg.connect(app_db, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")
