"""Crash safety and concurrency: SIGKILL mid-job, zombie runners, many runners, cancel."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

import psycopg
import pytest

from jobs import queue
from jobs.runner import claim_next, drain, run_job
from tests.integration.jobs_support import (
    ICP,
    MANUFACTURING_ROWS,
    ROOT,
    company_uens,
    division_codes,
    enqueue,
    icp,
    icp_env,
    job,
    manufacturing_codes,
    matching_uens,
    slow_batches,
)


async def test_sigkilled_runner_is_resumed_from_its_cursor_after_the_lease(
    sample_db: str,
) -> None:
    codes = manufacturing_codes(sample_db)
    job_id = await enqueue(sample_db, codes)
    slow_batches(sample_db, 0.05)
    env = icp_env(sample_db, STAGING_BATCH_SIZE="50", ICP_JOB_LEASE_SECONDS="2")
    proc = subprocess.Popen(
        [ICP, "jobs", "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while job(sample_db, job_id)["processed"] < 300:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed = job(sample_db, job_id)
    assert killed["status"] == "running" and (killed["runs"], killed["attempts"]) == (1, 0)
    assert 300 <= killed["processed"] < MANUFACTURING_ROWS
    assert killed["processed"] % 50 == 0  # only whole committed batches count
    assert len(company_uens(sample_db)) == killed["processed"]

    # A new runner waits for the lease (2 s) and the backoff, then resumes at the cursor.
    res = icp(
        sample_db, "jobs", "run", "--wait", "30", STAGING_BATCH_SIZE="50", ICP_JOB_LEASE_SECONDS="2"
    )
    assert res.returncode == 0, res.stdout + res.stderr
    done = job(sample_db, job_id)
    # Two runs; the kill came after committed batches, so it cost no attempt.
    assert (done["status"], done["processed"], done["total"], done["runs"], done["attempts"]) == (
        "done",
        MANUFACTURING_ROWS,
        MANUFACTURING_ROWS,
        2,
        0,
    )
    assert done["lease_owner"] != killed["lease_owner"]
    uens = company_uens(sample_db)
    assert len(uens) == len(set(uens)) == MANUFACTURING_ROWS
    assert set(uens) == matching_uens(sample_db, codes)
    with psycopg.connect(sample_db) as conn:
        resumed_rows = conn.execute(
            "SELECT rows FROM run_stage_stats WHERE job_id = %s", (job_id,)
        ).fetchall()
    # Only the second run wrote stats (the first was killed), and it did only the rest.
    assert resumed_rows == [(MANUFACTURING_ROWS - killed["processed"],)]


async def test_a_zombie_runner_cannot_overwrite_a_resumed_job(app_db: str) -> None:
    job_id = await enqueue(app_db, manufacturing_codes(app_db))
    from db.pool import get_pool

    pool = await get_pool()
    zombie = await claim_next(pool, owner="zombie")
    assert zombie is not None and zombie.job_id == job_id
    with psycopg.connect(app_db, autocommit=True) as conn:  # the zombie's lease runs out
        conn.execute("UPDATE background_jobs SET lease_until = now() - interval '1 hour'")
    reports = await drain(owner="alive")
    assert [(r.status, r.processed) for r in reports] == [("done", MANUFACTURING_ROWS)]
    # The zombie's run committed nothing before its lease ran out: one failed attempt.
    assert (job(app_db, job_id)["runs"], job(app_db, job_id)["attempts"]) == (2, 1)

    late = await run_job(pool, zombie, owner="zombie")
    assert late.status == "lost" and late.rows == 0
    row = job(app_db, job_id)
    assert (row["status"], row["processed"], row["lease_owner"]) == (
        "done",
        MANUFACTURING_ROWS,
        "alive",
    )
    async with pool.connection() as conn:
        with pytest.raises(queue.LeaseLost):
            await queue.finish_job(
                conn, job_id=job_id, owner="zombie", status="error", total=0, error="zombie"
            )


async def test_abandoned_job_ends_error_after_its_last_attempt(app_db: str) -> None:
    job_id = await enqueue(app_db, manufacturing_codes(app_db), max_attempts=1)
    from db.pool import get_pool

    pool = await get_pool()
    assert await claim_next(pool, owner="dies") is not None
    with psycopg.connect(app_db, autocommit=True) as conn:
        conn.execute("UPDATE background_jobs SET lease_until = now() - interval '1 second'")
    [report] = await drain(owner="next")  # reported, not "nothing to do"
    assert (report.job_id, report.status, report.claimed) == (job_id, "error", False)
    row = job(app_db, job_id)
    assert row["status"] == "error" and row["ended_at"] is not None and row["attempts"] == 1
    assert "gave up after 1 of 1 attempts: the lease of dies expired" in row["error"]
    assert row["error"] == report.error


async def test_three_runner_processes_run_every_job_once(sample_db: str) -> None:
    icps = division_codes(sample_db)
    assert len(icps) >= 20
    ids = [await enqueue(sample_db, codes) for codes in icps]
    slow_batches(sample_db, 0.02)
    env = icp_env(sample_db, STAGING_BATCH_SIZE="40")
    procs = [
        subprocess.Popen(
            [ICP, "jobs", "run"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    with psycopg.connect(sample_db) as conn:
        rows = conn.execute(
            "SELECT job_id, status, processed, total, runs, lease_owner FROM background_jobs"
            " ORDER BY job_id"
        ).fetchall()
        stats = conn.execute(
            "SELECT job_id, count(*) FROM run_stage_stats GROUP BY job_id ORDER BY job_id"
        ).fetchall()
    assert [r[0] for r in rows] == ids
    assert all(r[1] == "done" and r[2] == r[3] and r[4] == 1 for r in rows), rows
    assert stats == [(i, 1) for i in ids]  # each job ran exactly once
    assert len({r[5] for r in rows}) == 3  # all three runners took part
    # A company matched by its secondary code belongs to another division's job as well.
    assert sum(r[2] for r in rows) == sum(len(matching_uens(sample_db, c)) for c in icps)
    uens = company_uens(sample_db)
    assert len(uens) == len(set(uens))
    assert set(uens) == set().union(*(matching_uens(sample_db, c) for c in icps))


async def test_cancel_queued_job_at_once(app_db: str) -> None:
    job_id = await enqueue(app_db, manufacturing_codes(app_db))
    res = icp(app_db, "jobs", "cancel", str(job_id))
    assert res.returncode == 0 and "cancelled" in res.stdout
    row = job(app_db, job_id)
    assert row["status"] == "cancelled" and row["ended_at"] is not None
    assert await drain() == []
    again = icp(app_db, "jobs", "cancel", str(job_id))
    assert again.returncode == 1 and "already ended cancelled" in again.stdout


async def test_cancel_running_job_stops_at_the_next_batch(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings

    monkeypatch.setenv("STAGING_BATCH_SIZE", "100")
    reset_settings()
    job_id = await enqueue(app_db, manufacturing_codes(app_db))

    async def cancel_after_two(jid: int, processed: int, total: int) -> None:
        if processed == 200:
            async with await psycopg.AsyncConnection.connect(app_db, autocommit=True) as c:
                assert await queue.cancel_job(c, jid, "default")
                row = await queue.get_job(c, jid, "default")
            assert row is not None and row["status"] == "running" and row["cancel_requested"]

    reports = await drain(on_progress=cancel_after_two)
    assert [(r.status, r.processed) for r in reports] == [("cancelled", 300)]
    row = job(app_db, job_id)
    assert row["status"] == "cancelled" and row["processed"] == 300
    assert len(company_uens(app_db)) == 300


async def test_graceful_stop_releases_the_job_at_a_batch_boundary(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings

    monkeypatch.setenv("STAGING_BATCH_SIZE", "100")
    reset_settings()
    job_id = await enqueue(app_db, manufacturing_codes(app_db))
    stop = asyncio.Event()

    def stop_after_three(jid: int, processed: int, total: int) -> None:
        if processed == 300:
            stop.set()

    reports = await drain(stop=stop, on_progress=stop_after_three)
    assert [(r.status, r.processed) for r in reports] == [("queued", 300)]
    row = job(app_db, job_id)
    assert (row["status"], row["processed"], row["attempts"]) == ("queued", 300, 0)
    reports = await drain()
    assert [(r.status, r.processed, r.rows) for r in reports] == [
        ("done", MANUFACTURING_ROWS, MANUFACTURING_ROWS - 300)
    ]
    uens = company_uens(app_db)
    assert len(uens) == len(set(uens)) == MANUFACTURING_ROWS


async def test_prune_deletes_only_old_finished_jobs(app_db: str) -> None:
    codes = manufacturing_codes(app_db)
    old = await enqueue(app_db, codes[:5])
    recent = await enqueue(app_db, codes[5:10])
    live = await enqueue(app_db, codes[10:15])
    with psycopg.connect(app_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE background_jobs SET status = 'done', ended_at = now() - interval '31 days'"
            " WHERE job_id = %s",
            (old,),
        )
        conn.execute(
            "UPDATE background_jobs SET status = 'done', ended_at = now() - interval '29 days'"
            " WHERE job_id = %s",
            (recent,),
        )
    res = icp(app_db, "jobs", "prune")
    assert res.returncode == 0 and "pruned 1 finished job" in res.stdout
    with psycopg.connect(app_db) as conn:
        left = [r[0] for r in conn.execute("SELECT job_id FROM background_jobs ORDER BY 1")]
    assert left == [recent, live]
