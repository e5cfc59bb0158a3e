"""The worker (LISTEN/NOTIFY wake-ups, the rescue of expired leases), lost leases, runner
session timeouts, gap-free idempotent enqueue and resuming an unfinished request."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable

import psycopg
import pytest

from db.companies import IcpCode, count_matching
from jobs import queue
from jobs.runner import claim_next, drain, run_job
from jobs.worker import Worker
from tests.integration.jobs_support import (
    ICP,
    MANUFACTURING_ROWS,
    ROOT,
    company_uens,
    enqueue,
    fill_disk_at,
    icp_env,
    job,
    manufacturing_codes,
    sessions,
    slow_batches,
)


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait until ``condition()`` holds, or fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def listening(url: str) -> bool:
    """Whether a worker's LISTEN connection is up and waiting."""
    return sessions(url, "icp-listener", "idle", "%LISTEN icp_jobs%") > 0


@pytest.fixture
async def serving(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[[bool], Worker]]:
    """Start workers that only a NOTIFY or a known due time can wake (no periodic poll)."""
    import jobs.worker

    monkeypatch.setattr(jobs.worker, "MAX_IDLE_SECONDS", 3600.0)
    monkeypatch.setattr(queue, "BACKOFF_BASE_SECONDS", 0.5)
    started: list[tuple[Worker, asyncio.Task[None]]] = []

    def start(claim_all: bool) -> Worker:
        worker = Worker(claim_all=claim_all)
        started.append((worker, asyncio.create_task(worker.serve())))
        return worker

    yield start
    for worker, task in started:
        worker.stop.set()
        await asyncio.wait_for(task, 30)


async def test_an_immediate_worker_is_woken_by_the_enqueue_notify(
    app_db: str, serving: Callable[[bool], Worker]
) -> None:
    worker = serving(True)
    await until(lambda: listening(app_db))
    await asyncio.sleep(0.3)  # the worker has looked at the (empty) queue and sleeps
    job_id = await enqueue(app_db, manufacturing_codes(app_db))
    # Nothing polls (the idle sleep is an hour): only the NOTIFY of the enqueue wakes it.
    await until(lambda: job(app_db, job_id)["status"] == "done")
    row = job(app_db, job_id)
    assert (row["processed"], row["lease_owner"], row["runs"]) == (
        MANUFACTURING_ROWS,
        worker.owner,
        1,
    )
    with psycopg.connect(app_db) as conn:
        alive = conn.execute("SELECT runner_id, kind, claims FROM job_runners").fetchall()
    assert alive == [(worker.owner, "server", "all")]


async def test_a_nightly_worker_waits_for_release_and_rescues_expired_leases(
    app_db: str, serving: Callable[[bool], Worker]
) -> None:
    from db.pool import get_pool

    codes = manufacturing_codes(app_db)
    abandoned = await enqueue(app_db, codes[200:], terms=("other",))
    # A runner claims it with a 1 s lease, then dies before committing any batch.
    async with (await get_pool("runner")).connection() as conn:
        dead = await queue.claim_job(conn, owner="dead", lease_seconds=1)
    assert dead is not None and dead.job_id == abandoned
    waiting = await enqueue(app_db, codes[:200])
    worker = serving(False)
    # No NOTIFY comes: the worker wakes when the lease and its backoff have passed.
    await until(lambda: job(app_db, abandoned)["status"] == "done")
    row = job(app_db, abandoned)
    # The dead run committed nothing: a failed attempt (progress would have cost none).
    assert (row["lease_owner"], row["runs"], row["attempts"]) == (worker.owner, 2, 1)
    # Under JOBS_START=nightly the unreleased job waits for its fire...
    await asyncio.sleep(0.5)
    assert job(app_db, waiting)["status"] == "queued"
    # ... and runs at once when someone asks (the NOTIFY of run-now wakes the worker).
    async with await psycopg.AsyncConnection.connect(app_db, autocommit=True) as conn:
        assert await queue.run_now(conn, waiting, "default")
    await until(lambda: job(app_db, waiting)["status"] == "done")
    uens = company_uens(app_db)
    assert len(uens) == len(set(uens)) == MANUFACTURING_ROWS


async def test_a_runner_that_loses_its_lease_stops_at_once(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings
    from db.pool import get_pool

    monkeypatch.setenv("ICP_JOB_LEASE_SECONDS", "3")  # a heartbeat every second
    reset_settings()
    job_id = await enqueue(app_db, manufacturing_codes(app_db))
    slow_batches(app_db, 120)  # the first batch would take two minutes
    pool = await get_pool("runner")
    claimed = await claim_next(pool, owner="A")
    assert claimed is not None
    run = asyncio.create_task(run_job(pool, claimed, owner="A"))

    def batch_running() -> bool:
        return sessions(app_db, "icp-runner", "active", "WITH icp AS%") > 0

    await until(batch_running)
    with psycopg.connect(app_db, autocommit=True) as conn:  # another runner takes the job over
        conn.execute("UPDATE background_jobs SET lease_owner = 'B' WHERE job_id = %s", (job_id,))
    report = await asyncio.wait_for(run, 30)  # long before the batch could end by itself
    assert report.status == "lost" and report.rows == 0
    assert not batch_running()  # the statement was cancelled in the server
    assert company_uens(app_db) == []  # and its batch rolled back
    row = job(app_db, job_id)
    assert (row["lease_owner"], row["processed"], row["status"]) == ("B", 0, "running")
    # The heartbeat task was cancelled and awaited, not left behind.
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("icp-heartbeat")]


async def test_runner_sessions_carry_the_timeouts_of_the_settings(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings
    from db.pool import close_pool, get_pool

    monkeypatch.setenv("ICP_JOB_STATEMENT_TIMEOUT_MS", "45000")
    monkeypatch.setenv("ICP_JOB_LOCK_TIMEOUT_MS", "7000")
    monkeypatch.setenv("ICP_JOB_IDLE_TX_TIMEOUT_MS", "4000")
    reset_settings()
    await close_pool()
    shown = "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'),"
    shown += " current_setting('idle_in_transaction_session_timeout')"
    async with (await get_pool("runner")).connection() as conn:
        runner = await (await conn.execute(shown)).fetchone()
    async with (await get_pool()).connection() as conn:
        app = await (await conn.execute(shown)).fetchone()
    assert runner == ("45s", "7s", "4s")
    assert app == ("0", "0", "0")  # chats keep the server's defaults


async def test_idempotent_repeats_burn_no_job_ids(app_db: str) -> None:
    codes = manufacturing_codes(app_db)
    requests = [codes[:10], codes[10:20], codes[20:30]]

    async def ask(part: list[IcpCode]) -> queue.Enqueued:
        async with await psycopg.AsyncConnection.connect(app_db, autocommit=True) as conn:
            return await queue.enqueue_staging_upsert(
                conn, tenant_id="default", terms=["t"], codes=part, total=1
            )

    seen = [await ask(requests[i % 3]) for i in (0, 0, 1, 0, 1, 2, 2, 1, 0)]
    assert [e.job_id for e in seen] == [1, 1, 2, 1, 2, 3, 3, 2, 1]
    # Ten identical requests at once: one job, and still no id burnt.
    together = await asyncio.gather(*(ask(codes[30:40]) for _ in range(10)))
    assert {e.job_id for e in together} == {4} and sum(e.created for e in together) == 1
    assert (await ask(codes[40:50])).job_id == 5
    with psycopg.connect(app_db) as conn:
        ids = [r[0] for r in conn.execute("SELECT job_id FROM background_jobs ORDER BY 1")]
    assert ids == [1, 2, 3, 4, 5]


async def test_a_new_request_resumes_the_unfinished_range(
    app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings

    monkeypatch.setenv("STAGING_BATCH_SIZE", "100")
    reset_settings()
    codes = manufacturing_codes(app_db)
    first = await enqueue(app_db, codes)

    async def cancel_at_300(jid: int, processed: int, total: int) -> None:
        if processed == 300:  # the runner stops at the next batch boundary: 400
            async with await psycopg.AsyncConnection.connect(app_db, autocommit=True) as c:
                assert await queue.cancel_job(c, jid, "default")

    assert [r.status for r in await drain(on_progress=cancel_at_300)] == ["cancelled"]
    # The same search again: the rest only, from where the cancelled job stopped.
    second = await enqueue(app_db, codes, terms=("Manufacturing",))
    row = job(app_db, second)
    assert (row["parent_job_id"], row["total"], row["cursor"]["covered"]) == (first, 1259, 400)
    assert row["request_key"].endswith(f":after:{first}")

    fill_disk_at(app_db, 600)  # this run fails at 600 rows
    assert [(r.status, r.processed) for r in await drain()] == [("error", 200)]
    with psycopg.connect(app_db, autocommit=True) as conn:  # the disk is freed
        conn.execute("DROP TRIGGER fail_disk ON companies")
    third = await enqueue(app_db, codes)
    row = job(app_db, third)
    assert (row["parent_job_id"], row["total"], row["cursor"]["covered"]) == (second, 1059, 600)
    reports = await drain()
    assert [(r.status, r.processed, r.total, r.rows) for r in reports] == [
        ("done", 1059, 1059, 1059)
    ]
    uens = company_uens(app_db)
    assert len(uens) == len(set(uens)) == MANUFACTURING_ROWS
    # A request after a finished search gets that job back while the registry is unchanged
    # (its scores are current), and starts over once a load has changed it.
    async with await psycopg.AsyncConnection.connect(app_db, autocommit=True) as conn:
        total, _ = await count_matching(conn, [c.code for c in codes])
        again = await queue.enqueue_staging_upsert(
            conn, tenant_id="default", terms=["manufacturing"], codes=codes, total=total
        )
        assert (again.job_id, again.status, again.created) == (third, "done", False)
        await conn.execute("UPDATE registry_changed SET changed_at = clock_timestamp()")
    fourth = await enqueue(app_db, codes)
    assert job(app_db, fourth)["parent_job_id"] is None
    assert job(app_db, fourth)["total"] == MANUFACTURING_ROWS


def test_icp_jobs_run_forever_is_a_worker_without_a_server(sample_db: str) -> None:
    proc = subprocess.Popen(
        [ICP, "jobs", "run", "--forever"],
        env=icp_env(sample_db),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while sessions(sample_db, "icp-listener", "idle", "%LISTEN icp_jobs%") == 0:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        with psycopg.connect(sample_db) as conn:
            runners = conn.execute("SELECT kind, claims, cron FROM job_runners").fetchall()
        assert runners == [("cli", "all", None)]  # "starts now" for every queued job
        job_id = asyncio.run(enqueue(sample_db, manufacturing_codes(sample_db)))
        while job(sample_db, job_id)["status"] != "done":
            assert time.monotonic() < deadline + 30 and proc.poll() is None
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "running queued jobs until stopped" in out
    assert f"job {job_id}: done 1,659/1,659" in out
    with psycopg.connect(sample_db) as conn:
        assert conn.execute("SELECT count(*) FROM job_runners").fetchone() == (0,)
