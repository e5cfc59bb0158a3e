"""Enqueue → running: ``JOBS_START=immediate`` vs the nightly path, through ``langgraph dev``.

Both sides enqueue the way a salesperson does: a search sent to a real ``langgraph dev``
server (stateless ``runs.wait``) on a scratch database holding the real ACRA sample (the
registry's size does not enter this path). Each job's latency is ``started_at -
created_at`` of its row, both from the database's clock: from the chat's enqueue
transaction to the claim that made the job ``running``.

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
from collections.abc import Callable, Coroutine
from typing import Any

from bench import harness as h
from bench.report import goal_line, stats_table, write_section

TITLE = "Job start: enqueue to running (immediate vs nightly)"
NIGHTLY_TERMS = [
    "bakery", "logistics", "software", "restaurants", "construction", "real estate",
    "retail", "education", "advertising", "cleaning", "printing", "shipping", "beauty",
    "travel",
]  # fmt: skip
"""Distinct searches, each matching more than the chat's 10-row head (so each queues a job)."""
DAY_SECONDS = 24 * 3600


def job(url: str, job_id: int) -> tuple[str, float | None]:
    """Return the job's status and its enqueue → running latency (ms; None until started)."""
    status, ms = h.fetch_one(
        url, "SELECT status, extract(epoch FROM started_at - created_at) * 1000"
        " FROM background_jobs WHERE job_id = %s", (job_id,))  # fmt: skip
    return str(status), None if ms is None else float(ms)


async def search(client: Any, text: str) -> dict[str, Any]:
    """Send a search through the server; return the job it queued."""
    out: Any = await client.runs.wait(None, "icp_search", input=h.message(text))
    if not isinstance(out, dict) or not out.get("job"):
        raise RuntimeError(f"{text!r} queued no job: {out}")
    return dict(out["job"])


async def immediate(client: Any, url: str, repeats: int) -> list[float]:
    """Search "bakery" ``repeats`` (+2 warm-up) times, one job at a time; latencies in ms."""
    samples: list[float] = []
    for i in range(repeats + 2):
        # As a registry load does: a repeated search then queues a new job (on an unchanged
        # registry it gets the finished one back, and nothing would start).
        h.execute(url, "UPDATE registry_changed SET changed_at = clock_timestamp()")
        queued = await search(client, "bakery")
        assert queued["created"], queued
        deadline = time.monotonic() + 60
        while (state := job(url, queued["job_id"]))[0] != "done":
            assert time.monotonic() < deadline, f"job {queued['job_id']} did not finish"
            await asyncio.sleep(0.02)
        if i >= 2 and state[1] is not None:
            samples.append(state[1])
    return samples


async def nightly(client: Any, url: str, repeats: int) -> list[float]:
    """Search each distinct industry at a random moment; latencies in ms once all started."""
    rng = random.Random(10)
    ids: list[int] = []
    for term in NIGHTLY_TERMS:
        await asyncio.sleep(rng.uniform(2, 12))
        queued = await search(client, term)
        assert queued["created"] and queued["start"] == "scheduled", queued
        ids.append(int(queued["job_id"]))
    deadline = time.monotonic() + 90
    while any(job(url, i)[1] is None for i in ids):
        assert time.monotonic() < deadline, "a fire did not start every job"
        await asyncio.sleep(0.5)
    return [ms for i in ids if (ms := job(url, i)[1]) is not None]


Measure = Callable[[Any, str, int], Coroutine[Any, Any, list[float]]]


def serve(url: str, env: dict[str, str], measure: Measure, repeats: int) -> list[float]:
    """Reset the jobs, start a server with ``env`` and run ``measure`` through it."""
    from langgraph_sdk import get_client

    h.execute(url, "TRUNCATE companies, lead_scores, background_jobs, run_stage_stats,"
              " scheduler_fires, job_runners RESTART IDENTITY CASCADE")  # fmt: skip

    async def go(server: str) -> list[float]:
        async with get_client(url=server) as client:
            return await measure(client, url, repeats)

    with h.dev_server(url, env) as srv:
        return asyncio.run(go(srv.url))


@h.benchmark("job-start", rows=0, repeats=40)
def run(rows: int, repeats: int) -> None:
    """Immediate, then nightly with a fire every minute (they cannot be interleaved)."""
    url = h.sample_database("icp_bench_job_start")
    h.log(f"immediate: {repeats} searches, one job at a time")
    now = serve(url, {"JOBS_START": "immediate"}, immediate, repeats)
    h.log(f"nightly with a fire every minute: {len(NIGHTLY_TERMS)} searches at random moments")
    later = serve(url, {"JOBS_START": "nightly", "NIGHTLY_CRON": "* * * * *"}, nightly, repeats)
    imm, nig = h.Stats.of(now), h.Stats.of(later)
    write_section(TITLE, "\n".join([
        "Each job's `started_at - created_at` (database clock): from the chat's enqueue "
        "transaction to the claim that made it `running`. Searches through one "
        "`langgraph dev` server on the real ACRA sample; the two modes run one after "
        "the other (the nightly side waits for fires, so it cannot be interleaved). "
        "Measured alone on a shared 2-core machine: other work on it shows in max.",
        "",
        stats_table({f"immediate (NOTIFY wakes the worker), {len(now)} searches": imm,
                     f"nightly, NIGHTLY_CRON='* * * * *', {len(later)} searches": nig}),
        "",
        goal_line("Immediate enqueue → running p95", imm.p95, at_most=1000, unit="ms") + ".",
        "",
        f"Immediate / nightly-every-minute: **{imm.p50 / nig.p50:.4f}×** at p50, "
        f"**{imm.p95 / nig.p95:.4f}×** at p95. With the default `NIGHTLY_CRON=0 2 * * *`, "
        "a request waits until 02:00 Singapore time: 12 h on average over the day "
        f"(16 h for a 10:00 request), so immediate p50 is "
        f"**{imm.p50 / 1000 / (DAY_SECONDS / 2):.1e}×** of that mean wait.",
    ]), pg_version=h.server_version(url))  # fmt: skip


if __name__ == "__main__":
    h.cli(run)
