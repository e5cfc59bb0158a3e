"""Enqueue → running: ``JOBS_START=immediate`` vs the nightly path, through ``langgraph dev``.

Both sides enqueue the way a salesperson does: a search sent to a real ``langgraph dev``
server (stateless ``runs.wait``, content as agent-chat-ui sends it) on a scratch database
holding the real ACRA sample (the registry's size does not enter this path). Each job's
latency is ``started_at - created_at`` of its row, both from the database's clock: from
the chat's enqueue transaction to the claim that made the job ``running``.

* **immediate** (``JOBS_START=immediate``): one search at a time, "bakery" each time (a new
  job once the previous one is done); the server's worker is woken by the enqueue's
  ``NOTIFY``.
* **nightly** (``JOBS_START=nightly``) with ``NIGHTLY_CRON='* * * * *'``, a fire every
  minute so the path can be measured in minutes: searches for distinct industries at
  random moments; each job starts when the next fire releases it. With the default
  ``0 2 * * *`` the same path waits for 02:00 Singapore time, 12 h on average for
  requests spread over the day (computed, not measured).

``python -m bench.job_start [--repeats 40]`` (``--rows`` is accepted and ignored)
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import psycopg

from bench.common import (
    RunOptions,
    Stats,
    bench_main,
    goal_line,
    log,
    register,
    scratch_database,
    server_version,
    write_section,
)

TITLE = "Job start: enqueue to running (immediate vs nightly)"
DEFAULT_REPEATS = 40
NIGHTLY_TERMS = [
    "bakery", "logistics", "software", "restaurants", "construction", "real estate",
    "retail", "education", "advertising", "cleaning", "printing", "shipping", "beauty",
    "travel",
]  # fmt: skip
"""Distinct searches, each matching more than the chat's 10-row head (so each queues a job)."""
DAY_SECONDS = 24 * 3600


def prepare_database() -> str:
    """Return a scratch database with the real ACRA sample."""
    from db.acra import load_file
    from icp.cli import sample_files

    url = scratch_database("icp_bench_job_start")
    with psycopg.connect(url, autocommit=True) as conn:
        for f in sample_files():
            load_file(conn, f)
        conn.execute("VACUUM ANALYZE")
    return url


def _latency_ms(url: str, job_id: int) -> float | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM started_at - created_at) * 1000 FROM background_jobs"
            " WHERE job_id = %s",
            (job_id,),
        ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def _status(url: str, job_id: int) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT status FROM background_jobs WHERE job_id = %s", (job_id,)
        ).fetchone()
    return str(row[0]) if row else "missing"


async def _search(client: Any, text: str) -> dict[str, Any]:
    out: Any = await client.runs.wait(
        None, "icp_search", input={"messages": [{"type": "human", "content": text}]}
    )
    job = out.get("job") if isinstance(out, dict) else None
    if not job:
        raise RuntimeError(f"{text!r} queued no job: {out}")
    return dict(job)


async def immediate_samples(server_url: str, url: str, repeats: int) -> list[float]:
    """Search "bakery" ``repeats`` (+2 warm-up) times, one job at a time; latencies in ms."""
    from langgraph_sdk import get_client

    samples: list[float] = []
    async with get_client(url=server_url) as client:
        for i in range(repeats + 2):
            job = await _search(client, "bakery")
            assert job["created"], job
            deadline = time.monotonic() + 60
            while _status(url, job["job_id"]) != "done":
                assert time.monotonic() < deadline, f"job {job['job_id']} did not finish"
                await asyncio.sleep(0.02)
            ms = _latency_ms(url, job["job_id"])
            if i >= 2 and ms is not None:
                samples.append(ms)
    return samples


async def nightly_samples(server_url: str, url: str) -> list[float]:
    """Search each distinct industry at a random moment; latencies in ms once all started."""
    from langgraph_sdk import get_client

    rng = random.Random(10)
    ids: list[int] = []
    async with get_client(url=server_url) as client:
        for term in NIGHTLY_TERMS:
            await asyncio.sleep(rng.uniform(2, 12))
            job = await _search(client, term)
            assert job["created"] and job["start"] == "scheduled", job
            ids.append(int(job["job_id"]))
    deadline = time.monotonic() + 90
    while any(_latency_ms(url, i) is None for i in ids):
        assert time.monotonic() < deadline, "a fire did not start every job"
        await asyncio.sleep(0.5)
    return [ms for i in ids if (ms := _latency_ms(url, i)) is not None]


def _serve(url: str, env: dict[str, str], measure: Any) -> list[float]:
    from icp.devserver import start_server

    srv = start_server(url, env)
    try:
        return list(asyncio.run(measure(srv.url, url)))
    finally:
        srv.stop()


def _reset(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE companies, lead_scores, background_jobs, run_stage_stats,"
            " scheduler_fires, job_runners RESTART IDENTITY CASCADE"
        )


@register("job-start")
def run(opts: RunOptions) -> None:
    """Benchmark entry point for bench.run."""
    repeats = opts.repeats or DEFAULT_REPEATS
    url = prepare_database()
    log(f"immediate: {repeats} searches, one job at a time")
    _reset(url)
    now = _serve(
        url,
        {"JOBS_START": "immediate"},
        lambda server, db: immediate_samples(server, db, repeats),
    )
    log(f"nightly with a fire every minute: {len(NIGHTLY_TERMS)} searches at random moments")
    _reset(url)
    later = _serve(url, {"JOBS_START": "nightly", "NIGHTLY_CRON": "* * * * *"}, nightly_samples)
    imm, nig = Stats.of(now), Stats.of(later)
    body = "\n".join(
        [
            "Each job's `started_at - created_at` (database clock): from the chat's enqueue "
            "transaction to the claim that made it `running`. Searches through one "
            "`langgraph dev` server on the real ACRA sample; the two modes run one after "
            "the other (the nightly side waits for fires, so it cannot be interleaved). "
            "Measured alone on a shared 2-core machine: other work on it shows in max.",
            "",
            Stats.header(),
            imm.row(f"immediate (NOTIFY wakes the worker), {len(now)} searches"),
            nig.row(f"nightly, NIGHTLY_CRON='* * * * *', {len(later)} searches"),
            "",
            goal_line("Immediate enqueue → running p95", imm.p95, at_most=1000, unit="ms") + ".",
            "",
            f"Immediate / nightly-every-minute: **{imm.p50 / nig.p50:.4f}×** at p50, "
            f"**{imm.p95 / nig.p95:.4f}×** at p95. With the default `NIGHTLY_CRON=0 2 * * *`, "
            "a request waits until 02:00 Singapore time: 12 h on average over the day "
            f"(16 h for a 10:00 request), so immediate p50 is "
            f"**{imm.p50 / 1000 / (DAY_SECONDS / 2):.1e}×** of that mean wait.",
        ]
    )
    write_section(TITLE, body, pg_version=server_version(url))


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    return bench_main(run, "python -m bench.job_start", argv, rows=0, repeats=DEFAULT_REPEATS)


if __name__ == "__main__":
    raise SystemExit(main())
