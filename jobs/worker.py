"""The worker: claims and runs queued jobs one at a time, in every server and `icp jobs run`.

A worker wakes up

* when a runner ``NOTIFY`` arrives on its own ``LISTEN`` connection (a job was queued,
  released, retried or asked to run now, or a scheduled fire released the queue);
* when the next known job becomes claimable: a retry's backoff ends, or a lease expires
  and its backoff passes (the *rescue* of a job whose runner died, hung or lost the
  database), computed from the queue each time the worker goes idle;
* at least every :data:`MAX_IDLE_SECONDS`.

What it claims: with ``claim_all`` (``JOBS_START=immediate``, and ``icp jobs run``) every
queued job; otherwise (``nightly``) only *released* ones (work a fire or "run now"
released, continuations, retries, jobs a stopping runner put back) and, always, running
jobs whose lease expired. Claims use ``FOR UPDATE SKIP LOCKED`` and leases, so any number
of workers on one database run each job once, one job at a time per worker.

A database outage never ends a worker: it logs one line when the database goes away and
one when it is back. Meanwhile it probes the database on a connection of its own with a
backoff up to :data:`OUTAGE_BACKOFF_MAX`; once the probe answers it renews the runner pool
(which would otherwise reconnect on its own, slower backoff), first releases the job whose
run the outage interrupted (no attempt counted), then claims as usual.

Each worker keeps its row in ``job_runners`` fresh every :data:`KEEPALIVE_SECONDS` (what
it claims, the schedule its server fires), so :mod:`jobs.timing` says when queued work
will run from what is actually alive.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Literal

import psycopg

from db.pool import aresolve_database_url, database_reachable, get_pool, reset_pool
from db.queries import q
from jobs import queue
from jobs.failures import describe, report_failure
from jobs.logs import log_event
from jobs.runner import (
    DB_DOWN,
    ProgressFn,
    RunReport,
    drain,
    new_owner,
    release_interrupted,
)

KEEPALIVE_SECONDS = 5.0
"""How often a worker refreshes its ``job_runners`` row."""
LIVE_SECONDS = 3 * KEEPALIVE_SECONDS
"""A runner seen within this long is alive (a killed one stops counting after it)."""
MAX_IDLE_SECONDS = 5.0
"""The longest a worker sleeps without looking at the queue."""
MIN_IDLE_SECONDS = 0.25
"""The shortest sleep when a job looks due but another runner holds its row."""
OUTAGE_BACKOFF_MAX = 5.0
"""The longest wait between two probes while the database is unreachable."""

OutageFn = Callable[[str | None], None]
"""Called with a one-line message when the database goes away, and with None when back."""


@dataclass
class Worker:
    """One job at a time: claim, run, sleep until something is due, survive outages."""

    claim_all: bool
    """Claim every queued job (immediate, CLI) or only released ones (nightly)."""
    kind: Literal["server", "cli"] = "server"
    owner: str = field(default_factory=new_owner)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    cron: str | None = None
    """The schedule this process fires (a server's NIGHTLY_CRON), for jobs.timing."""
    cron_tz: str | None = None
    on_progress: ProgressFn | None = None
    on_report: Callable[[RunReport], None] | None = None
    on_outage: OutageFn | None = None
    max_jobs: int | None = None
    """Stop after this many runs (``icp jobs run --max-jobs``)."""
    reports: list[RunReport] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    outage: str | None = None
    """Why the database is unreachable, while it is."""
    _interrupted: list[RunReport] = field(default_factory=list)
    _backoff: float = 1.0
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def runs(self) -> int:
        """Jobs this worker ran (claimed), whatever they ended with."""
        return sum(1 for r in self.reports if r.claimed)

    @property
    def at_max_jobs(self) -> bool:
        """Whether ``max_jobs`` runs are done."""
        return self.max_jobs is not None and self.runs >= self.max_jobs

    def poke(self) -> None:
        """Wake the worker now (a fire or "run now" in this process)."""
        self.wake.set()

    async def __aenter__(self) -> Worker:
        await self.register(timeout=2.0)  # visible at once to "when will it run"
        self._tasks = [
            asyncio.create_task(self._listen(), name=f"icp-listen-{self.owner}"),
            asyncio.create_task(self._keepalive(), name=f"icp-keepalive-{self.owner}"),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        self._tasks = []
        with suppress(*DB_DOWN):
            pool = await get_pool("runner")
            async with pool.connection(timeout=2.0) as conn:
                await queue.unregister_runner(conn, self.owner)

    async def serve(self) -> None:
        """Run until ``stop`` is set (a server's worker); a bug is logged, never fatal."""
        async with self:
            while not self.stop.is_set():
                try:
                    await self.step()
                except Exception as exc:  # not an outage (step handles those): log, go on
                    await report_failure(exc, stage="worker", owner=self.owner)
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self.stop.wait(), MAX_IDLE_SECONDS)
                    continue
                await self.idle()

    async def run_until_idle(self, wait_s: float = 0.0) -> tuple[int, int]:
        """Run until nothing is claimable (after up to ``wait_s`` for jobs not claimable yet).

        Return the (queued, running) jobs left that no one could claim. An outage is
        waited out, whatever ``wait_s`` says: the run resumes when the database is back.
        """
        deadline = time.monotonic() + wait_s
        left = (0, 0)
        async with self:
            while not self.stop.is_set() and not self.at_max_jobs:
                if await self.step() and not self.at_max_jobs:
                    try:
                        left = await self._waiting()
                    except DB_DOWN as exc:
                        self._down(exc)
                    else:
                        if left == (0, 0) or time.monotonic() >= deadline:
                            return left
                await self.idle(deadline=None if self.outage else deadline)
        return left

    async def step(self) -> bool:
        """Release runs an outage interrupted, then drain; False if the database is down."""
        if self.outage is not None:
            if not await database_reachable():  # one connection outside the pool
                return False
            await reset_pool("runner")  # connect now, not at the pool's own backoff
            self._up()
        pool = await get_pool("runner")
        try:
            while self._interrupted:
                await release_interrupted(pool, self._interrupted[0], owner=self.owner)
                self._interrupted.pop(0)
            self.wake.clear()
            reports = await drain(
                pool,
                owner=self.owner,
                stop=self.stop,
                on_progress=self.on_progress,
                on_report=self._report,
                max_jobs=None if self.max_jobs is None else self.max_jobs - self.runs,
                claim_all=self.claim_all,
            )
        except DB_DOWN as exc:
            self._down(exc)
            return False
        if reports and reports[-1].status == "interrupted":
            self._down(reports[-1].error or "the database went away mid-job")
            return False
        self._up()
        return True

    async def idle(self, *, deadline: float | None = None) -> None:
        """Sleep until woken, stopped, the next job is due, or a while has passed."""
        if self.stop.is_set():
            return
        if self.outage is not None:
            timeout = self._backoff
            self._backoff = min(self._backoff * 2, OUTAGE_BACKOFF_MAX)
        else:
            timeout = await self._until_due()
        if deadline is not None:
            timeout = max(0.0, min(timeout, deadline - time.monotonic()))
        waiters = [
            asyncio.create_task(self.wake.wait()),
            asyncio.create_task(self.stop.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.wait(waiters)

    async def _until_due(self) -> float:
        try:
            pool = await get_pool("runner")
            async with pool.connection() as conn:
                due = await queue.next_due(conn, claim_all=self.claim_all)
        except DB_DOWN as exc:
            self._down(exc)
            return self._backoff
        if due is None:
            return MAX_IDLE_SECONDS
        return min(max(due, MIN_IDLE_SECONDS), MAX_IDLE_SECONDS)

    async def _waiting(self) -> tuple[int, int]:
        pool = await get_pool("runner")
        async with pool.connection() as conn:
            return await queue.queue_waiting(conn)

    def _report(self, report: RunReport) -> None:
        self.reports.append(report)
        if report.outage:
            self._down(report.error or "the database went away mid-job")
        if report.status == "interrupted":
            self._interrupted.append(report)
        if self.on_report is not None:
            self.on_report(report)

    def _down(self, why: BaseException | str) -> None:
        if self.outage is not None:
            return
        self.outage = why if isinstance(why, str) else describe(why)
        self._backoff = 1.0
        message = (
            f"database unreachable ({self.outage}); trying again every "
            f"{OUTAGE_BACKOFF_MAX:.0f} s or sooner until it answers"
        )
        log_event("outage", stage="worker", level=logging.WARNING, owner=self.owner, error=message)
        if self.on_outage is not None:
            self.on_outage(message)

    def _up(self) -> None:
        if self.outage is None:
            return
        self.outage = None
        self._backoff = 1.0
        log_event("outage_end", stage="worker", owner=self.owner)
        if self.on_outage is not None:
            self.on_outage(None)

    async def register(self, *, timeout: float) -> None:
        """Record this worker as alive in job_runners (silently skipped while down)."""
        try:
            pool = await get_pool("runner")
            async with pool.connection(timeout=timeout) as conn:
                await queue.register_runner(
                    conn,
                    runner_id=self.owner,
                    kind=self.kind,
                    claims="all" if self.claim_all else "released",
                    cron=self.cron,
                    cron_tz=self.cron_tz,
                )
        except DB_DOWN:
            pass  # the keep-alive tries again; an outage is reported by the claim loop

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            try:
                await self.register(timeout=KEEPALIVE_SECONDS)
            except Exception as exc:  # a bug: logged, and the worker keeps running
                await report_failure(exc, stage="worker", owner=self.owner, step="keep-alive")

    async def _listen(self) -> None:
        """Set ``wake`` on every runner NOTIFY; reconnect with a backoff when cut off."""
        backoff = 1.0
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    await aresolve_database_url(),
                    autocommit=True,
                    application_name="icp-listener",
                    connect_timeout=5,
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=3,
                )
                async with conn:
                    await conn.execute(q("listen_runners"))
                    backoff = 1.0
                    self.wake.set()  # anything queued while this worker was not listening
                    async for _ in conn.notifies():
                        self.wake.set()
            except DB_DOWN:
                pass  # an outage: the claim loop reports it
            except Exception as exc:  # a bug: logged; the periodic look at the queue goes on
                await report_failure(exc, stage="worker", owner=self.owner, step="listener")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, OUTAGE_BACKOFF_MAX)
