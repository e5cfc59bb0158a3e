"""The scheduler: one drain per fire across replicas, catch-up after downtime, graceful stop."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest

from db.pool import make_pool
from jobs import queue
from jobs.runner import drain
from jobs.scheduler import (
    JOB_NAME,
    catch_up,
    claim_fire,
    cron_trigger,
    latest_fire,
    run_fire,
    start_scheduler,
    stop_scheduler,
)
from tests.integration.jobs_support import (
    MANUFACTURING_ROWS,
    company_uens,
    division_codes,
    enqueue,
    job,
    manufacturing_codes,
    slow_batches,
)

SGT = ZoneInfo("Asia/Singapore")


async def test_three_replicas_claiming_one_fire_get_one_winner(app_db: str) -> None:
    fire = datetime(2025, 3, 1, 2, 0, tzinfo=SGT)
    pools = [make_pool(app_db) for _ in range(3)]
    for p in pools:
        await p.open()
    try:
        won = await asyncio.gather(
            *(claim_fire(fire, owner=f"replica-{i}", pool=p) for i, p in enumerate(pools))
        )
    finally:
        for p in pools:
            await p.close()
    assert sorted(won) == [False, False, True]
    with psycopg.connect(app_db) as conn:
        rows = conn.execute("SELECT job_name, fire_time, fired_by FROM scheduler_fires").fetchall()
    assert rows == [(JOB_NAME, fire, f"replica-{won.index(True)}")]


async def test_three_schedulers_firing_the_same_minute_release_the_queue_once(
    app_db: str,
) -> None:
    ids = [await enqueue(app_db, codes) for codes in division_codes(app_db)[:6]]
    slow_batches(app_db, 0.02)
    # Before the fire a nightly worker (released work only) has nothing to take.
    assert await drain(owner="early", claim_all=False) == []
    fire = datetime.now(SGT).replace(second=0, microsecond=0)
    ran = await asyncio.gather(*(run_fire(fire, owner=f"replica-{i}") for i in range(3)))
    assert sorted(ran) == [False, False, True]
    with psycopg.connect(app_db) as conn:
        released = conn.execute(
            "SELECT count(*) FILTER (WHERE released), count(*) FROM background_jobs"
        ).fetchone()
        fires = conn.execute("SELECT fired_by FROM scheduler_fires").fetchall()
    assert released == (6, 6) and fires == [(f"replica-{ran.index(True)}",)]
    # Three replicas' workers drain what the one fire released: each job runs once.
    await asyncio.gather(*(drain(owner=f"worker-{i}", claim_all=False) for i in range(3)))
    with psycopg.connect(app_db) as conn:
        stats = conn.execute(
            "SELECT job_id, count(*) FROM run_stage_stats GROUP BY job_id ORDER BY job_id"
        ).fetchall()
    assert stats == [(i, 1) for i in ids]
    assert all(job(app_db, i)["status"] == "done" for i in ids)


async def test_catch_up_runs_a_missed_fire_once_and_later_work_waits_for_the_next(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings

    monkeypatch.setenv("NIGHTLY_CRON", "0 2 * * *")
    monkeypatch.setenv("NIGHTLY_TZ", "Asia/Singapore")
    reset_settings()
    trigger = cron_trigger()
    now = datetime(2025, 3, 2, 9, 30, tzinfo=SGT)  # the server was down at 02:00
    first = await enqueue(app_db, manufacturing_codes(app_db))
    assert await catch_up(trigger, owner="a", now=now) == "ran missed fire"
    assert job(app_db, first)["released"]
    assert [r.status for r in await drain(owner="w", claim_all=False)] == ["done"]
    with psycopg.connect(app_db) as conn:
        fires = conn.execute("SELECT fire_time FROM scheduler_fires").fetchall()
    assert fires == [(datetime(2025, 3, 2, 2, 0, tzinfo=SGT),)]

    # A second replica (or a restart) finds the fire recorded and nothing to release.
    assert await catch_up(trigger, owner="b", now=now) == "up to date"
    # Work queued after the fire waits for the next one under JOBS_START=nightly...
    later = await enqueue(app_db, manufacturing_codes(app_db)[:40], terms=("later",))
    assert await drain(owner="w", claim_all=False) == []
    assert job(app_db, later)["status"] == "queued" and not job(app_db, later)["released"]
    # ... unless someone runs it now (POST /jobs/{id}/run, the page's Run now button).
    async with await psycopg.AsyncConnection.connect(app_db, autocommit=True) as conn:
        assert await queue.run_now(conn, later, "default")
        assert not await queue.run_now(conn, later, "another-tenant")
    assert [r.status for r in await drain(owner="w", claim_all=False)] == ["done"]


async def test_scheduler_starts_catches_up_and_stops_gracefully_mid_job(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings

    monkeypatch.setenv("STAGING_BATCH_SIZE", "50")
    reset_settings()
    job_id = await enqueue(app_db, manufacturing_codes(app_db))
    slow_batches(app_db, 0.05)
    handle = await start_scheduler()
    try:
        assert handle.scheduler.running
        sched = handle.scheduler.get_job(JOB_NAME)
        assert sched is not None and sched.coalesce and sched.misfire_grace_time >= 3600
        assert sched.next_run_time is not None and sched.next_run_time.tzinfo is not None
        with psycopg.connect(app_db) as conn:
            runners = conn.execute("SELECT kind, claims, cron FROM job_runners").fetchall()
        assert runners == [("server", "released", "0 2 * * *")]
        # The start-up catch-up releases the queue and the worker drains: wait until part-way.
        for _ in range(400):
            if job(app_db, job_id)["processed"] >= 200:
                break
            await asyncio.sleep(0.02)
    finally:
        await stop_scheduler(handle)
    row = job(app_db, job_id)
    assert row["status"] == "queued" and 200 <= row["processed"] < MANUFACTURING_ROWS
    assert row["released"] and row["attempts"] == 0 and not handle.tasks
    assert len(company_uens(app_db)) == row["processed"]
    with psycopg.connect(app_db) as conn:
        assert conn.execute("SELECT count(*) FROM job_runners").fetchone() == (0,)


def test_latest_fire_before_now() -> None:
    from apscheduler.triggers.cron import CronTrigger

    nightly = CronTrigger.from_crontab("0 2 * * *", timezone=SGT)
    assert latest_fire(nightly, datetime(2025, 3, 2, 1, 0, tzinfo=SGT)) == datetime(
        2025, 3, 1, 2, 0, tzinfo=SGT
    )
    assert latest_fire(nightly, datetime(2025, 3, 2, 2, 0, tzinfo=SGT)) == datetime(
        2025, 3, 2, 2, 0, tzinfo=SGT
    )
    quarter = CronTrigger.from_crontab("*/15 * * * *", timezone=SGT)
    now = datetime(2025, 3, 2, 10, 7, 30, tzinfo=SGT)
    assert latest_fire(quarter, now) == now.replace(minute=0, second=0)
    monthly = CronTrigger.from_crontab("0 3 1 * *", timezone=SGT)
    assert latest_fire(monthly, datetime(2025, 3, 20, tzinfo=SGT)) == datetime(
        2025, 3, 1, 3, 0, tzinfo=SGT
    )
    # A fire far back is found (a leap day, 385 days before), one beyond the look-back
    # window (400 days) is not: a schedule that never fired recently has no missed fire.
    leap = CronTrigger.from_crontab("0 0 29 2 *", timezone=SGT)
    assert latest_fire(leap, datetime(2025, 3, 20, tzinfo=SGT)) == datetime(2024, 2, 29, tzinfo=SGT)
    assert latest_fire(leap, datetime(2027, 3, 20, tzinfo=SGT)) is None
