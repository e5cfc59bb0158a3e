"""Jobs never strand: the interruptions of issue 10 on real server processes and PostgreSQL.

Each scenario ends with its job ``done`` and exact counts within the lease + 10 s of the
interruption, without another restart and without a scheduled fire. The servers are real
``langgraph dev`` processes running the product's app with ``JOBS_START=nightly`` (the
production default) unless a scenario is about ``immediate``; leases are 4 s here, so the
bound is 14 s. A database outage is a private embedded PostgreSQL stopped with
``pg_ctl stop -m fast`` (every connection cut) and started again.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from langgraph_sdk import get_client

from icp.devserver import DevServer, start_server
from tests.integration.jobs_support import (
    GATE_LOCK,
    ICP,
    MANUFACTURING_ROWS,
    ROOT,
    company_uens,
    division_codes,
    enqueue,
    gate_batches,
    icp_env,
    job,
    manufacturing_codes,
    matching_uens,
    sessions,
    slow_batches,
)
from tests.throwaway import Throwaway, throwaway_postgres

pytestmark = pytest.mark.acceptance

LEASE = 4
BOUND = LEASE + 10
"""Seconds from the end of an interruption until the job must be done."""
ENV = {
    "ICP_JOB_LEASE_SECONDS": str(LEASE),
    "ICP_JOB_IDLE_TX_TIMEOUT_MS": "2000",
    "STAGING_BATCH_SIZE": "50",
    "JOBS_START": "nightly",
}


@contextmanager
def server(url: str, **extra: str) -> Iterator[DevServer]:
    """Run one ``langgraph dev`` server on the database; stop it (SIGTERM) at the end."""
    srv = start_server(url, {**ENV, **extra})
    try:
        yield srv
    finally:
        srv.stop()


def kill(srv: DevServer) -> float:
    """SIGKILL a server (no shutdown of any kind); return when it died."""
    srv.proc.kill()
    srv.proc.wait(timeout=10)
    return time.monotonic()


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``condition`` every 0.1 s; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds:.1f} s: {what}"
        time.sleep(0.1)


def queue_job(url: str, codes: Any = None, **kwargs: Any) -> int:
    """Queue a Manufacturing job (or ``codes``) the way the chat does; return its id."""
    return asyncio.run(enqueue(url, codes or manufacturing_codes(url), **kwargs))


def scalar(url: str, sql: str, *args: Any) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql, args).fetchone()
    return row[0] if row else None


def jobs(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT job_id, status, processed, total, runs, attempts, parent_job_id"
            " FROM background_jobs ORDER BY job_id"
        ).fetchall()


def all_done(url: str) -> bool:
    return all(j[1] == "done" for j in jobs(url))


def assert_exact(url: str) -> None:
    """Every job done with processed == total; Manufacturing upserted once, row for row."""
    rows = jobs(url)
    assert rows and all(r[1] == "done" and r[2] == r[3] for r in rows), rows
    uens = company_uens(url)
    assert len(uens) == len(set(uens)) == MANUFACTURING_ROWS
    assert set(uens) == matching_uens(url, manufacturing_codes(url))


def fires(url: str) -> int:
    return int(scalar(url, "SELECT count(*) FROM scheduler_fires"))


@pytest.fixture(scope="module")
def outage_pg() -> Iterator[Throwaway]:
    """A private PostgreSQL these tests stop and start."""
    with throwaway_postgres("stranding") as pg:
        yield pg


@pytest.fixture
def pg(outage_pg: Throwaway) -> Iterator[Throwaway]:
    """The private PostgreSQL, running and emptied of jobs and companies."""
    outage_pg.reset()
    yield outage_pg
    outage_pg.start()


def test_1_an_outage_during_a_scheduled_drain_heals_without_a_restart(pg: Throwaway) -> None:
    job_id = queue_job(pg.url)
    slow_batches(pg.url, 0.1)
    with server(pg.url) as srv:
        # The start-up catch-up runs the missed 02:00 fire: it releases the job, and the
        # server's worker drains it.
        wait_until(lambda: job(pg.url, job_id)["processed"] >= 200, 60, "the drain is under way")
        pg.stop()
        time.sleep(5)
        pg.start()
        wait_until(lambda: job(pg.url, job_id)["status"] == "done", BOUND, "done after the outage")
        assert srv.proc.poll() is None  # the same server process, never restarted
    row = job(pg.url, job_id)
    assert (row["processed"], row["total"], row["attempts"]) == (
        MANUFACTURING_ROWS,
        MANUFACTURING_ROWS,
        0,  # the outage cost no attempt
    )
    assert fires(pg.url) == 1  # no second fire was needed
    assert_exact(pg.url)


def test_2_a_follow_up_released_by_sigterm_resumes_on_restart_without_a_fire(
    sample_db: str,
) -> None:
    first = queue_job(sample_db)
    slow_batches(sample_db, 0.1)
    follow_up = (
        "SELECT job_id FROM background_jobs WHERE parent_job_id = %s AND status = 'running'"
        " AND processed >= 100"
    )
    with server(sample_db, UPSERT_MAX_PER_JOB="400"):
        wait_until(lambda: scalar(sample_db, follow_up, first) is not None, 60, "a follow-up")
        follow = int(scalar(sample_db, follow_up, first))
    # The server stopped on SIGTERM: the follow-up went back to the queue at a batch boundary.
    row = job(sample_db, follow)
    assert (row["status"], row["released"], row["attempts"]) == ("queued", True, 0)
    assert 100 <= row["processed"] < 400
    restarted = time.monotonic()
    with server(sample_db, UPSERT_MAX_PER_JOB="400"):
        wait_until(
            lambda: all_done(sample_db),
            restarted + BOUND - time.monotonic(),
            "the released follow-up and the rest are done",
        )
    assert fires(sample_db) == 1  # today's fire was already recorded: none ran again
    chain = jobs(sample_db)
    # 1,659 rows in jobs of at most 400: 400, 400, 400, 400, 59.
    assert [c[0] for c in chain][:2] == [first, follow] and len(chain) == 5
    assert sum(c[2] for c in chain) == MANUFACTURING_ROWS
    assert_exact(sample_db)


def test_3_a_server_killed_and_restarted_within_the_lease_resumes_its_job(
    sample_db: str,
) -> None:
    job_id = queue_job(sample_db)
    slow_batches(sample_db, 0.1)
    with server(sample_db) as srv:
        wait_until(lambda: job(sample_db, job_id)["processed"] >= 200, 60, "the job is under way")
        killed = kill(srv)
    with server(sample_db):  # up again within the lease: the dead server still holds it
        wait_until(
            lambda: job(sample_db, job_id)["status"] == "done",
            killed + BOUND - time.monotonic(),
            "done after the kill",
        )
    row = job(sample_db, job_id)
    assert (row["runs"], row["attempts"]) == (2, 0)  # killed after progress: no failure
    assert_exact(sample_db)


def test_4_a_job_killed_three_times_while_making_progress_still_ends_done(
    sample_db: str,
) -> None:
    job_id = queue_job(sample_db, max_attempts=3)
    slow_batches(sample_db, 0.1)
    killed = time.monotonic()
    for _ in range(3):
        with server(sample_db) as srv:
            before = job(sample_db, job_id)["processed"]
            wait_until(
                lambda: job(sample_db, job_id)["processed"] >= before + 100,  # noqa: B023
                BOUND + 30,
                "progress in this server",
            )
            killed = kill(srv)
    assert job(sample_db, job_id)["status"] == "running"
    with server(sample_db):
        wait_until(
            lambda: job(sample_db, job_id)["status"] == "done",
            killed + BOUND - time.monotonic(),
            "done after the third kill",
        )
    row = job(sample_db, job_id)
    assert (row["processed"], row["runs"], row["attempts"]) == (MANUFACTURING_ROWS, 4, 0)
    assert_exact(sample_db)


def test_4_a_new_request_resumes_where_a_cancelled_search_stopped(sample_db: str) -> None:
    slow_batches(sample_db, 0.1)
    with server(sample_db, JOBS_START="immediate") as srv, httpx.Client(base_url=srv.url) as http:
        first = http.post("/jobs/staging_upsert", json={"terms": ["Manufacturing"]}).json()
        wait_until(lambda: job(sample_db, first["job_id"])["processed"] >= 300, 60, "progress")
        assert http.post(f"/jobs/{first['job_id']}/cancel").status_code == 200
        wait_until(lambda: job(sample_db, first["job_id"])["status"] == "cancelled", 10, "cancel")
        stopped = job(sample_db, first["job_id"])["processed"]
        again = http.post("/jobs/staging_upsert", json={"terms": ["manufacturing"]}).json()
        assert (again["created"], again["resumed_from"]) == (True, first["job_id"])
        assert again["total"] == MANUFACTURING_ROWS - stopped  # only the rest, not row 0
        wait_until(lambda: all_done_or_cancelled(sample_db), BOUND, "the rest is done")
    with psycopg.connect(sample_db) as conn:
        rows = conn.execute("SELECT job_id, rows FROM run_stage_stats ORDER BY job_id").fetchall()
    assert rows == [(first["job_id"], stopped), (again["job_id"], MANUFACTURING_ROWS - stopped)]
    uens = company_uens(sample_db)
    assert len(uens) == len(set(uens)) == MANUFACTURING_ROWS


def all_done_or_cancelled(url: str) -> bool:
    return all(j[1] in ("done", "cancelled") for j in jobs(url))


def test_5_a_hung_runner_loses_its_locks_and_its_job_to_a_live_server(sample_db: str) -> None:
    env = {**ENV, "STAGING_BATCH_SIZE": "100"}
    gate_batches(sample_db, 150)  # the second batch waits for a lock this test holds
    gate = psycopg.connect(sample_db, autocommit=True)
    gate.execute("SELECT pg_advisory_lock(%s)", (GATE_LOCK,))
    with server(sample_db, **env) as srv:
        wait_until(lambda: fires(sample_db) == 1, 30, "the start-up catch-up")
        job_id = queue_job(sample_db)  # after the fire: only the CLI runner takes it
        cli = subprocess.Popen(
            [ICP, "jobs", "run"],
            env=icp_env(sample_db, **env),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            wait_until(
                lambda: (
                    job(sample_db, job_id)["processed"] == 100
                    and sessions(sample_db, "icp-runner", "active", "WITH icp AS%") == 1
                ),
                60,
                "the CLI runner is inside its second batch",
            )
            cli.send_signal(signal.SIGSTOP)  # the runner hangs...
            hung = time.monotonic()
            gate.close()  # ... after its statement: its transaction stays open, rows locked
            wait_until(
                lambda: sessions(sample_db, "icp-runner", "idle in transaction", "%") == 1,
                5,
                "the hung transaction",
            )
            # The server ends it (idle-in-transaction timeout) and, after the lease, its
            # worker takes the job over; the hung runner's locks do not block it.
            wait_until(
                lambda: job(sample_db, job_id)["status"] == "done",
                hung + BOUND - time.monotonic(),
                "the live server finished the hung runner's job",
            )
            assert sessions(sample_db, "icp-runner", "idle in transaction", "%") == 0
        finally:
            gate.close()
            cli.send_signal(signal.SIGCONT)
        out, _ = cli.communicate(timeout=60)
        assert srv.proc.poll() is None
    # The runner, continued, found its lease taken over and stopped without touching the job.
    assert cli.returncode == 0, out
    assert f"job {job_id}: lost" in out, out
    row = job(sample_db, job_id)
    assert (row["status"], row["processed"], row["total"], row["runs"], row["attempts"]) == (
        "done",
        MANUFACTURING_ROWS,
        MANUFACTURING_ROWS,
        2,
        0,  # the hung run had committed a batch: not a failure
    )
    assert_exact(sample_db)


def test_6_the_cli_runner_waits_out_an_outage_and_it_costs_no_attempt(pg: Throwaway) -> None:
    job_id = queue_job(pg.url)
    slow_batches(pg.url, 0.1)
    cli = subprocess.Popen(
        [ICP, "jobs", "run"],
        env=icp_env(pg.url, **ENV),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: job(pg.url, job_id)["processed"] >= 200, 60, "the CLI run is under way")
        pg.stop()
        time.sleep(5)
        pg.start()
        wait_until(lambda: job(pg.url, job_id)["status"] == "done", BOUND, "done after the outage")
        out, err = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, out + err[-3000:]
    assert "Traceback" not in out + err
    down = [ln for ln in out.splitlines() if "database unreachable" in ln]
    back = [ln for ln in out.splitlines() if "the database answers again" in ln]
    assert len(down) == 1 and len(back) == 1, out
    row = job(pg.url, job_id)
    assert (row["processed"], row["attempts"]) == (MANUFACTURING_ROWS, 0)
    assert f"job {job_id}: done 1,659/1,659" in out
    assert_exact(pg.url)


async def test_8_repeated_searches_in_the_chat_burn_no_job_ids(sample_db: str) -> None:
    searches = ["Manufacturing", "bakery", "Manufacturing", "logistics", "bakery", "software"]
    searches += ["Manufacturing", "restaurants", "logistics", "software", "bakery", "restaurants"]
    with server(sample_db) as srv:
        async with get_client(url=srv.url) as client:
            replies = []
            for text in searches:
                out = await client.runs.wait(
                    None,
                    "icp_search",
                    input={"messages": [{"type": "human", "content": text}]},
                )
                assert isinstance(out, dict) and out["job"], out
                replies.append(out)
        ids = [r["job"]["job_id"] for r in replies]
        distinct = list(dict.fromkeys(ids))
        assert distinct == list(range(1, len(distinct) + 1)), ids  # 1, 2, 3, ... no gaps
        assert len(distinct) == len(set(searches))
        first = replies[0]["messages"][-1]["content"]
        assert "; it runs at the next scheduled run, 02:00 " in first, first
        assert (
            "already in job 1, which runs at the next scheduled run"
            in (replies[2]["messages"][-1]["content"])
        )
        # Run them now (the page's button): the server's worker does each once, exactly.
        async with httpx.AsyncClient(base_url=srv.url) as http:
            for job_id in distinct:
                assert (await http.post(f"/jobs/{job_id}/run")).status_code == 202
        wait_until(lambda: all_done(sample_db), BOUND + 20, "every search's job is done")
    assert all(j[2] == j[3] and j[4] == 1 for j in jobs(sample_db))
    assert int(scalar(sample_db, "SELECT max(job_id) FROM background_jobs")) == len(distinct)


def test_three_immediate_servers_on_one_database_run_each_job_once(sample_db: str) -> None:
    slow_batches(sample_db, 0.02)
    env = {"JOBS_START": "immediate", "STAGING_BATCH_SIZE": "40"}
    with server(sample_db, **env), server(sample_db, **env), server(sample_db, **env):
        owners = {r[0] for r in _runners(sample_db)}
        assert len(owners) == 3
        icps = division_codes(sample_db)
        ids = [queue_job(sample_db, codes) for codes in icps]
        assert len(ids) >= 20
        wait_until(lambda: all_done(sample_db), 120, "every job is done")
    with psycopg.connect(sample_db) as conn:
        stats = conn.execute(
            "SELECT job_id, count(*) FROM run_stage_stats GROUP BY job_id ORDER BY job_id"
        ).fetchall()
        ran_by = {r[0] for r in conn.execute("SELECT lease_owner FROM background_jobs")}
    assert stats == [(i, 1) for i in ids]  # each job ran exactly once
    assert ran_by == owners  # all three servers took part
    assert all(j[1] == "done" and j[4] == 1 and j[2] == j[3] for j in jobs(sample_db))
    # Each division's rows upserted once; a company matched by a secondary code belongs to
    # another division's job as well.
    uens = company_uens(sample_db)
    assert len(uens) == len(set(uens))
    assert set(uens) == set().union(*(matching_uens(sample_db, c) for c in icps))


def _runners(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT runner_id, claims FROM job_runners").fetchall()
