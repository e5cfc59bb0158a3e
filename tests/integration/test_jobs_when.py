"""When will a job run: from what is alive (job_runners), the queue and measured rates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from langchain_core.messages import AIMessage

from jobs import queue
from jobs.timing import clock, duration, job_timing, next_fire
from tests.integration.jobs_support import MANUFACTURING_ROWS, enqueue, manufacturing_codes

SGT = ZoneInfo("Asia/Singapore")


async def _timing(url: str, job_id: int) -> Any:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        row = await queue.get_job(conn, job_id, None)
        assert row is not None
        return await job_timing(conn, row)


async def _runner(url: str, runner_id: str, claims: str, *, cron: str | None = None) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await queue.register_runner(
            conn,
            runner_id=runner_id,
            kind="server" if cron else "cli",
            claims=claims,
            cron=cron,
            cron_tz="Asia/Singapore" if cron else None,
        )


def _sql(url: str, statement: str, *args: Any) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement, args)


async def test_queued_work_is_promised_only_by_a_live_runner(app_db: str) -> None:
    codes = manufacturing_codes(app_db)
    first = await enqueue(app_db, codes[:100])
    second = await enqueue(app_db, codes[100:], terms=("more",))

    # Nothing alive: no promise, and the way to run it.
    t = await _timing(app_db, first)
    assert (t.start, t.runs_at) == ("no_runner", None)
    assert "no server and no `icp jobs run`" in t.text

    # A nightly server: the next fire of its schedule, 02:00 Singapore time.
    await _runner(app_db, "srv-1", "released", cron="0 2 * * *")
    t = await _timing(app_db, first)
    assert t.start == "scheduled" and t.runs_at is not None
    at = t.runs_at.astimezone(SGT)
    assert (at.hour, at.minute) == (2, 0) and timedelta(0) < t.runs_at - datetime.now(SGT)
    assert t.runs_at - datetime.now(SGT) <= timedelta(days=1)
    assert t.text.startswith("runs at the next scheduled run, 02:00 ")
    assert "(Asia/Singapore), in " in t.text

    # Run now: released, so the live worker takes it at once; the other job still waits.
    async with await psycopg.AsyncConnection.connect(app_db, autocommit=True) as conn:
        assert await queue.run_now(conn, first, "default")
    assert ((await _timing(app_db, first)).start, (await _timing(app_db, first)).text) == (
        "now",
        "starts now",
    )
    assert (await _timing(app_db, second)).start == "scheduled"

    # A worker that claims everything (immediate, icp jobs run): both start now, one after
    # the other (one job at a time per runner).
    await _runner(app_db, "cli-1", "all")
    assert (await _timing(app_db, second)).text == (
        "starts as soon as a runner is free (1 job before it)"
    )

    # Runners that stopped refreshing their row are not alive any more.
    _sql(app_db, "UPDATE job_runners SET seen_at = now() - interval '1 minute'")
    assert (await _timing(app_db, second)).start == "no_runner"


async def test_retry_running_eta_and_a_stopped_runner(app_db: str) -> None:
    job_id = await enqueue(app_db, manufacturing_codes(app_db))
    await _runner(app_db, "cli-1", "all")
    _sql(
        app_db,
        "UPDATE background_jobs SET released = true, run_after = now() + interval '90 seconds'",
    )
    t = await _timing(app_db, job_id)
    assert t.start == "retry" and t.text.startswith("is retried at ") and "in 2 min" in t.text

    # Running, before its first batch: the ETA comes from the latest runs' measured rate.
    _sql(
        app_db,
        "UPDATE background_jobs SET status = 'running', lease_owner = 'r', runs = 1,"
        " lease_until = now() + interval '1 minute', run_started_at = now(), run_base = 0",
    )
    _sql(
        app_db,
        "INSERT INTO run_stage_stats (job_id, tenant_id, stage, rows, batches, duration_ms)"
        " VALUES (NULL, 'default', 'staging_upsert', 1000, 2, 2000)",
    )
    t = await _timing(app_db, job_id)
    assert (t.start, t.eta_seconds) == ("running", 4)  # 1,659 rows at 500 rows/s
    assert t.text == "is running, about 4 s left"

    # After batches of this run: its own rate (100 rows in 10 s -> 1,559 rows in ~156 s).
    _sql(
        app_db,
        "UPDATE background_jobs SET processed = 100, run_started_at = now() - interval '10 s'",
    )
    t = await _timing(app_db, job_id)
    assert t.eta_seconds is not None and 150 <= t.eta_seconds <= 160, t
    assert t.text == "is running, about 3 min left"

    # Its runner stopped: resumed by a live runner after the lease and the backoff.
    _sql(app_db, "UPDATE background_jobs SET lease_until = now() - interval '1 minute'")
    t = await _timing(app_db, job_id)
    assert (t.start, t.text) == ("now", "is being resumed now (its runner stopped)")
    _sql(app_db, "UPDATE background_jobs SET status = 'done', ended_at = now()")
    assert (await _timing(app_db, job_id)).start == "finished"


def test_words() -> None:
    assert [duration(s) for s in (0, 59, 61, 3599, 3600, 5400, 86400 * 2 + 3600)] == [
        "0 s",
        "59 s",
        "2 min",
        "1 h",  # 59 min 59 s rounds up
        "1 h",
        "1 h 30 min",
        "2 days 1 h",
    ]
    now = datetime(2025, 3, 2, 10, 0, tzinfo=SGT)
    fire = next_fire("0 2 * * *", "Asia/Singapore", now)
    assert fire == datetime(2025, 3, 3, 2, 0, tzinfo=SGT)
    assert clock(fire, now, "Asia/Singapore") == "02:00 tomorrow (Asia/Singapore), in 16 h"
    assert next_fire("not a cron", "Asia/Singapore", now) is None


@pytest.mark.parametrize(
    ("claims", "cron", "expected"),
    [
        ("all", None, "; it starts now."),
        ("released", "0 2 * * *", "; it runs at the next scheduled run, 02:00 "),
        (None, None, "; it waits: no server and no `icp jobs run` is running"),
    ],
)
async def test_the_chat_says_when_from_what_is_alive(
    app_db: str, claims: str | None, cron: str | None, expected: str
) -> None:
    from graph.graph import graph

    if claims:
        await _runner(app_db, "runner-1", claims, cron=cron)
    out = await graph.ainvoke(
        {"messages": [{"type": "human", "content": "Manufacturing"}]}  # type: ignore[arg-type]
    )
    job = out["job"]
    assert job is not None and job["created"]
    text = out["messages"][-1]
    assert isinstance(text, AIMessage)
    assert f"queued as job {job['job_id']}{expected}" in str(text.content), text.content
    assert set(job) >= {"start", "runs_at", "eta_seconds", "when"}
    assert (job["runs_at"] is None) == (claims is None)
    assert job["remaining"] == MANUFACTURING_ROWS - 10
