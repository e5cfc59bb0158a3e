"""Faults: PostgreSQL stops and starts again under a running process.

A dedicated, throwaway embedded PostgreSQL (its own data directory under tmp, so stopping
it disturbs no other test) is migrated and loaded with the ACRA sample; the graph, the
custom routes and the runner are pointed at it in-process exactly like the server's own
process (DATABASE_URL, one pool). The server is then stopped with ``pg_ctl stop -m fast``
(every connection is cut, as in a restart or failover) and started again on the same
socket.

Disk-full errors and a runner killed mid-job are covered by tests/integration/
test_jobs_runner.py (test_sql_failure_ends_error_with_the_message) and
test_jobs_recovery.py (test_sigkilled_runner_is_resumed_from_its_cursor_after_the_lease).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from langchain_core.messages import AIMessage

from api.app import app
from config.settings import reset_settings
from db.pool import close_pool, get_pool
from graph.graph import graph
from tests.helpers import written_rows
from tests.throwaway import Throwaway, throwaway_postgres

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MANUFACTURING_ROWS = 1659


@pytest.fixture(scope="module")
def throwaway_pg() -> Iterator[Throwaway]:
    """Start a private embedded server holding the migrated schema and the ACRA sample."""
    with throwaway_postgres("faults") as pg:
        yield pg


@pytest.fixture
async def pg(throwaway_pg: Throwaway, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Throwaway]:
    """Point settings and the process pool at the throwaway server (running, emptied)."""
    throwaway_pg.reset()
    await close_pool()
    monkeypatch.setenv("DATABASE_URL", throwaway_pg.url)
    monkeypatch.setenv("ICP_HEAD_BUDGET_MS", "800")
    reset_settings()
    try:
        yield throwaway_pg
    finally:
        await close_pool()
        throwaway_pg.start()
        reset_settings()


def human(text: str) -> dict[str, Any]:
    return {"type": "human", "content": [{"type": "text", "text": text}]}


async def chat(text: str) -> tuple[dict[str, Any], str, float]:
    start = time.perf_counter()
    out = await graph.ainvoke({"messages": [human(text)]})  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    last = out["messages"][-1]
    assert isinstance(last, AIMessage)
    return out, str(last.content), elapsed


def job_row(url: str, job_id: int) -> dict[str, Any]:
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as conn:
        row = conn.execute("SELECT * FROM background_jobs WHERE job_id = %s", (job_id,)).fetchone()
    assert row is not None
    return row


async def test_postgres_restart_under_a_running_process(
    pg: Throwaway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Up: the chat upserts its head and queues the rest.
    out, text, _ = await chat("Manufacturing")
    job = out["job"]
    assert job is not None and job["created"] and len(out["head"]) == 10, text
    assert written_rows(pg.url) == (10, 10, 1)

    # Routes wait for a pooled connection up to the pool's timeout (10 s) before their 503;
    # shortened here to keep the test quick (the chat has its own 0.8 s budget).
    pool = await get_pool()
    monkeypatch.setattr(pool, "timeout", 2.0)

    # Down: every chat gets a clear reply at once, and writes nothing.
    pg.stop()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://icp.test") as client:
        for text_in in ("Manufacturing", "bakery", "logistics"):
            out, text, elapsed = await chat(text_in)
            assert elapsed < 2, f"{text_in}: {elapsed:.2f}s"
            assert "database" in text and "try again" in text, text
            assert out["head"] == [] and out["job"] is None
        start = time.perf_counter()
        health = await client.get("/icp/health")
        assert health.status_code == 503 and "database" in health.json()["detail"]
        jobs = await client.get(f"/jobs/{job['job_id']}")
        assert jobs.status_code == 503 and "database" in jobs.json()["detail"]
        assert time.perf_counter() - start < 6

        # Up again: the same process recovers without a restart (after a short retry window).
        pg.start()
        deadline = time.monotonic() + 10
        while True:
            out, text, _ = await chat("Manufacturing")
            if not out["errors"] or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert out["errors"] == [], text
        assert out["job"] is not None and out["job"]["job_id"] == job["job_id"], text
        assert not out["job"]["created"]  # the queued job survived the restart
        assert (await client.get("/icp/health")).json() == {"status": "ok"}
        assert (await client.get(f"/jobs/{job['job_id']}")).json()["status"] == "queued"

    # Nothing was half-written while the database was down; the queued job runs later.
    assert written_rows(pg.url) == (10, 10, 1)
    from jobs.runner import drain

    reports = await drain(await get_pool())
    assert [r.status for r in reports] == ["done"]
    row = job_row(pg.url, job["job_id"])
    assert row["status"] == "done", row
    assert row["processed"] == row["total"] == MANUFACTURING_ROWS
    assert written_rows(pg.url) == (MANUFACTURING_ROWS, MANUFACTURING_ROWS, 1)


async def test_postgres_restart_in_the_middle_of_a_job(
    pg: Throwaway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs import queue
    from jobs.worker import Worker

    out, text, _ = await chat("Manufacturing")
    job_id = out["job"]["job_id"]
    monkeypatch.setenv("STAGING_BATCH_SIZE", "100")
    monkeypatch.setenv("ICP_JOB_LEASE_SECONDS", "2")
    reset_settings()
    monkeypatch.setattr(queue, "BACKOFF_BASE_SECONDS", 0.2)
    pool = await get_pool("runner")
    monkeypatch.setattr(pool, "timeout", 2.0)

    def stop_after_first_batch(_job: int, processed: int, _total: int) -> None:
        if processed == 100:
            pg.stop()  # every connection is cut between two batches

    outages: list[str | None] = []
    worker = Worker(claim_all=True, kind="cli", on_progress=stop_after_first_batch)
    worker.on_outage = outages.append
    start = time.perf_counter()
    # The batch after the stop fails and the failure cannot be recorded: the run reports
    # "interrupted", the worker notes the outage (one message) and does not die.
    assert not await worker.step()
    assert time.perf_counter() - start < 15  # a few 2 s pool timeouts, not a hang
    assert [r.status for r in worker.reports] == ["interrupted"]
    assert len(outages) == 1 and outages[0] and "database unreachable" in outages[0]

    pg.start()
    row = job_row(pg.url, job_id)
    assert (row["status"], row["processed"], row["lease_owner"]) == (
        "running",
        100,
        worker.owner,
    )
    assert 100 <= written_rows(pg.url)[0] <= 110  # the head's 10 plus one committed batch

    # The database is back: the worker releases its interrupted job (no attempt counted),
    # claims it again and finishes it from its cursor: nothing lost, nothing counted twice.
    deadline = time.monotonic() + 30
    while not await worker.step():  # the pool reconnects with its own backoff
        assert time.monotonic() < deadline
        await worker.idle()
    assert outages[1:] == [None]
    assert [r.status for r in worker.reports] == ["interrupted", "done"]
    row = job_row(pg.url, job_id)
    assert (row["status"], row["runs"], row["attempts"]) == ("done", 2, 0), row
    assert row["processed"] == row["total"] == MANUFACTURING_ROWS
    assert written_rows(pg.url) == (MANUFACTURING_ROWS, MANUFACTURING_ROWS, 1)
