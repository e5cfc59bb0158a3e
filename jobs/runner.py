"""The batched runner: claim jobs from the queue and walk their staging rows by keyset.

A ``staging_upsert`` job walks the matching staging rows in ``(match_code, uen)`` order
(the search code a row matched by: its primary code, or its secondary code when only that
matches), ``STAGING_BATCH_SIZE`` rows at a time (never OFFSET), scoring them into the
job's saved search (``params.search_id``, else the tenant's search of the code set). Each
batch is one call of ``db.companies.upsert_scored_batch`` (upsert_scored over
batch_source; only the count and the last key come back) in its own transaction, which
also moves the job's cursor, adds to ``processed`` and renews the lease; a crash therefore
never double-counts or skips rows, and a resumed job continues from its last commit.

Cap (``UPSERT_MAX_PER_JOB``): a job stops after that many rows and, in the same
transaction that ends it ``done`` (its ``total`` becomes its share), enqueues a
*continuation job* (``parent_job_id`` = this job, cursor = where it stopped, request key
``<key>:after:<job_id>``) that the same drain picks up next. Each job in the chain
therefore reports exact ``processed == total`` for its own key range, and ``next_job_id``
on the job routes links to the follow-up.

A job never says ``done`` after losing rows: at the end of the walk the runner re-counts
the staging rows in the job's range and ends in ``error`` (with both numbers) when they
differ. SQL errors end the job in ``error`` with the message at once; serialization
failures, deadlocks and lock timeouts are retried with a backoff and cost an attempt
only when the run committed no batch; a database outage (connection lost, pool timeout,
server shutting down) never costs one. When the failure cannot even be recorded (the
database is unreachable) the run reports ``interrupted`` and its worker releases the job
once the database answers again (:mod:`jobs.worker`).

While a job runs, a heartbeat renews its lease on another connection; if another runner
has taken the job over (this runner hung past its lease), the walk is cancelled at once,
its statement cancelled in the server, and the run reports ``lost``. The runner's
connections come from the ``runner`` pool, whose sessions carry the statement, lock and
idle-in-transaction timeouts of the settings.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from config.settings import get_settings
from db.companies import IcpCode, count_matching, ensure_search, upsert_scored_batch
from db.pool import get_pool
from db.registry import registry_stable
from jobs import queue
from jobs.failures import describe, report_failure
from jobs.logs import log_event
from jobs.metrics import BATCH_SECONDS, JOBS_FINISHED, ROWS_PROCESSED

ProgressFn = Callable[[int, int, int], Awaitable[None] | None]
"""Called after each committed batch with (job_id, processed, total)."""

_OUTAGE = (
    PoolTimeout,
    TimeoutError,
    OSError,
    psycopg.errors.AdminShutdown,
    psycopg.errors.CrashShutdown,
    psycopg.errors.CannotConnectNow,
    psycopg.errors.ConnectionException,
    psycopg.errors.TooManyConnections,
    psycopg.errors.IdleInTransactionSessionTimeout,
)
"""The database is unreachable (or ended the session): not the job's fault."""
_RETRYABLE = (
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.LockNotAvailable,
)
"""Contention that may pass on retry; it costs an attempt if the run made no progress."""
DB_DOWN = (psycopg.OperationalError, PoolTimeout, OSError)
"""What a call raises when the database cannot be reached."""
HEARTBEAT_MAX_SECONDS = 5.0
"""The longest time between two lease renewals (lease / 3 when shorter)."""
OUTAGE_RECORD_TIMEOUT_SECONDS = 2.0
"""How long a run cut off by an outage waits for a connection to record that."""


def new_owner() -> str:
    """Return a lease-owner id unique to this runner: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def is_outage(exc: BaseException) -> bool:
    """Return whether a failure is the database being unreachable (costs no attempt)."""
    if isinstance(exc, _OUTAGE):
        return True
    # A lost connection has no SQLSTATE; server-reported errors (disk full, bad SQL) do.
    return isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None


def is_transient(exc: BaseException) -> bool:
    """Return whether a failure may pass on retry (an outage, serialization, deadlock)."""
    return is_outage(exc) or isinstance(exc, _RETRYABLE)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Return the nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class RunReport:
    """What one run of one job ended with."""

    job_id: int
    tenant_id: str
    status: str
    """done, error, cancelled, queued (retry or graceful stop), lost (lease taken over),
    interrupted (the database was unreachable: the worker releases the job later)."""
    processed: int = 0
    total: int = 0
    error: str | None = None
    next_job_id: int | None = None
    batches: int = 0
    rows: int = 0
    batch_ms: list[float] = field(default_factory=list)
    claimed: bool = True
    """False for a job ended in error without a run (abandoned on its last attempt)."""
    outage: bool = False
    """The run failed because the database was unreachable (it costs no attempt)."""

    def outcome(self) -> dict[str, Any]:
        """Return what the run ended with, as the ``job_end`` log line tells it."""
        return {
            "job_id": self.job_id,
            "tenant": self.tenant_id,
            "status": self.status,
            "rows": self.rows,
            "processed": self.processed,
            "total": self.total,
            "batches": self.batches,
            "error": self.error,
            "next_job_id": self.next_job_id,
        }


class _Finished(Exception):
    """Internal: the walk ended with a final status already written."""


def _key(cursor: dict[str, Any] | None, name: str) -> tuple[str, str] | None:
    value = (cursor or {}).get(name)
    if isinstance(value, list | tuple) and len(value) == 2:
        return (str(value[0]), str(value[1]))
    return None


class _Heartbeat:
    """Renew a job's lease from a background task while its walk runs.

    ``lost`` is set as soon as another runner owns the job; :meth:`guard` then cancels the
    walk. The task is cancelled and awaited on exit.
    """

    def __init__(self, pool: AsyncConnectionPool[Any], job_id: int, owner: str, lease: float):
        self.pool, self.job_id, self.owner, self.lease = pool, job_id, owner, lease
        self.lost = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        # At most every 5 s whatever the lease: a lost lease is noticed that fast.
        interval = min(max(self.lease / 3, 0.5), HEARTBEAT_MAX_SECONDS)
        while True:
            await asyncio.sleep(interval)
            try:
                async with self.pool.connection(timeout=interval) as conn, conn.transaction():
                    status = await queue.heartbeat(
                        conn, job_id=self.job_id, owner=self.owner, lease_seconds=self.lease
                    )
            except queue.LeaseLost:
                self.lost.set()
                return
            except DB_DOWN as exc:
                log_event(
                    "heartbeat_failed",
                    level=logging.WARNING,
                    job_id=self.job_id,
                    error=describe(exc),
                )
                continue
            if status != "running":
                return  # this runner itself ended or released the job

    async def guard(self, walk: Coroutine[Any, Any, None]) -> None:
        """Run ``walk``; if the lease is lost meanwhile, cancel it and raise LeaseLost."""
        task = asyncio.create_task(walk, name=f"icp-walk-{self.job_id}")
        lost = asyncio.create_task(self.lost.wait())
        try:
            await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not task.done():
                task.cancel()  # lease lost (or this run itself is being cancelled)
            await asyncio.wait({task, lost})
        if self.lost.is_set() and (task.cancelled() or isinstance(task.exception(), DB_DOWN)):
            raise queue.LeaseLost(f"job {self.job_id}: lease lost; the walk was stopped")
        task.result()

    async def __aenter__(self) -> _Heartbeat:
        self.task = asyncio.create_task(self._beat(), name=f"icp-heartbeat-{self.job_id}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        task = self.task
        if task is None:
            return
        task.cancel()
        await asyncio.wait({task})  # never leave the task running (or its error unread)
        if not task.cancelled() and task.exception() is not None:
            log_event(
                "error",
                level=logging.ERROR,
                job_id=self.job_id,
                error=f"heartbeat failed: {describe(task.exception() or RuntimeError())}",
            )


async def _notify(on_progress: ProgressFn | None, job_id: int, processed: int, total: int) -> None:
    if on_progress is not None:
        result = on_progress(job_id, processed, total)
        if asyncio.iscoroutine(result):
            await result


class _Walk:
    """One run of a staging_upsert job, step by step as the module docstring tells it.

    ``resume`` starts (or resumes) the job at its cursor; ``run`` then repeats
    ``one_batch`` until the walk is stopped (``release``), cancelled, reaches the end of
    its range (``finish_range``) or the cap (``hand_over`` to a continuation job). Every
    step that ends the job writes its final status and raises ``_Finished``.
    """

    def __init__(
        self,
        conn: AsyncConnection[Any],
        job: queue.Claimed,
        report: RunReport,
        *,
        owner: str,
        stop: asyncio.Event,
        on_progress: ProgressFn | None,
    ) -> None:
        self.conn, self.job, self.report, self.owner = conn, job, report, owner
        self.stop, self.on_progress = stop, on_progress
        settings = get_settings()
        self.lease = float(settings.job_lease_seconds)
        self.cap = settings.upsert_max_per_job
        self.batch_size = settings.staging_batch_size
        self.codes: list[IcpCode] = queue.codes_from_params(job.params)
        self.code_list = sorted({c.code for c in self.codes})
        self.terms = [str(t) for t in job.params.get("terms", [])]
        search_id = job.params.get("search_id")
        self.search_id: int | None = int(search_id) if search_id is not None else None
        """The saved search the job scores into (found or created at start if not given)."""
        cursor = job.cursor or {}
        self.start = _key(cursor, "from") or ("", "")
        """Where this job's range begins (a continuation starts where its parent stopped)."""
        self.after = (str(cursor.get("code", self.start[0])), str(cursor.get("uen", self.start[1])))
        """The last row committed (the keyset cursor)."""
        self.covered = int(cursor.get("covered", 0))
        """Rows the job's ancestors in a continuation chain processed before its range."""
        self.progress = queue.Progress(job.processed, job.total, False)

    def log(self, event: str, *, level: int = logging.INFO, **fields: Any) -> None:
        """Log one event of this job."""
        log_event(event, level=level, job_id=self.job.job_id, tenant=self.job.tenant_id, **fields)

    def cursor_doc(self, after: tuple[str, str] | None = None) -> dict[str, Any]:
        """Return the cursor document stored on the job."""
        code, uen = after or self.after
        return {"from": list(self.start), "code": code, "uen": uen, "covered": self.covered}

    async def record_progress(
        self, step: Literal["start_job", "record_batch"], cursor: dict[str, Any], **count: int
    ) -> None:
        """Move the job's cursor and renew its lease (inside the caller's transaction)."""
        self.progress = await queue.record_progress(
            self.conn,
            step,
            job_id=self.job.job_id,
            owner=self.owner,
            lease_seconds=self.lease,
            cursor=cursor,
            **count,
        )

    async def finish(self, status: str, total: int, error: str | None = None) -> None:
        """Write the job's final status (inside the caller's transaction)."""
        await queue.finish_job(
            self.conn,
            job_id=self.job.job_id,
            owner=self.owner,
            status=status,
            total=total,
            error=error,
        )
        self.report.status, self.report.total, self.report.error = status, total, error

    async def run(self) -> None:
        """Walk the job's range batch by batch to an end; always raises ``_Finished``."""
        await self.resume()
        while True:
            if self.stop.is_set():
                await self.release()
            limit = min(self.batch_size, self.cap - self.progress.processed)
            if limit <= 0:
                await self.hand_over()  # capped (also a resumed job already at the cap)
            rows = await self.one_batch(limit)
            if self.progress.cancel_requested:
                async with self.conn.transaction():
                    await self.finish("cancelled", self.progress.total)
                raise _Finished
            if rows < limit:
                await self.finish_range()

    async def resume(self) -> None:
        """Mark the job started at its cursor, with the rows still to do as its total."""
        if not self.codes:
            async with self.conn.transaction():
                await self.finish("error", self.job.total, "the job has no SSIC codes to process")
            raise _Finished
        async with self.conn.transaction():
            if self.search_id is None:
                self.search_id = await ensure_search(
                    self.conn, tenant_id=self.job.tenant_id, terms=self.terms, codes=self.codes
                )
            matching, _live = await count_matching(self.conn, self.code_list)
            total = max(matching - self.covered, 0)
            await self.record_progress("start_job", self.cursor_doc(), total=total)
            if self.progress.cancel_requested:
                await self.finish("cancelled", self.progress.total)
                raise _Finished
        self.report.processed, self.report.total = self.progress.processed, self.progress.total
        self.log(
            "job_start",
            rows=self.progress.processed,
            total=self.progress.total,
            run=self.job.runs,
            failures=self.job.attempts,
            resumed=self.job.resumed,
            cursor=list(self.after),
        )

    async def one_batch(self, limit: int) -> int:
        """Upsert the next ``limit`` rows and move the cursor in one transaction."""
        self.log("batch_start", limit=limit, cursor=list(self.after))
        t0 = time.perf_counter()
        async with self.conn.transaction():
            rows, last = await upsert_scored_batch(
                self.conn,
                self.codes,
                tenant_id=self.job.tenant_id,
                search_id=self.search_id or 0,
                limit=limit,
                job_id=self.job.job_id,
                after=self.after,
            )
            new_after = last or self.after
            await self.record_progress("record_batch", self.cursor_doc(new_after), rows=rows)
        self.after = new_after
        ms = (time.perf_counter() - t0) * 1000
        report, progress = self.report, self.progress
        report.batches += 1
        report.rows += rows
        report.batch_ms.append(ms)
        report.processed, report.total = progress.processed, progress.total
        ROWS_PROCESSED.labels(self.job.job_type).inc(rows)
        BATCH_SECONDS.labels(self.job.job_type).observe(ms / 1000)
        self.log(
            "batch_end",
            rows=rows,
            processed=progress.processed,
            total=progress.total,
            duration_ms=round(ms, 1),
        )
        await _notify(self.on_progress, self.job.job_id, progress.processed, progress.total)
        return rows

    async def release(self) -> None:
        """Stop at a batch boundary (graceful shutdown): the job goes back to the queue."""
        async with self.conn.transaction():
            await queue.release_job(self.conn, job_id=self.job.job_id, owner=self.owner)
        self.report.status = "queued"
        self.log("job_released", rows=self.progress.processed)
        raise _Finished

    async def finish_range(self) -> None:
        """End of the range: ``done`` only if the rows re-counted match what was processed."""
        processed = self.progress.processed
        async with self.conn.transaction():
            actual = await queue.count_staging_after(self.conn, self.code_list, self.start)
            if actual != processed:
                await self.finish(
                    "error",
                    self.progress.total,
                    f"processed {processed:,} rows but {actual:,} staging rows "
                    "match this job's range (the registry changed during the run?); "
                    "run the request again",
                )
            else:
                await self.finish("done", processed)
        raise _Finished

    async def hand_over(self) -> None:
        """Capped: end this job with its exact share and queue a continuation for the rest."""
        processed = self.progress.processed
        async with self.conn.transaction():
            rest = await queue.count_staging_after(self.conn, self.code_list, self.after)
            in_range = await queue.count_staging_after(self.conn, self.code_list, self.start)
            if in_range - rest != processed:
                await self.finish(
                    "error",
                    self.progress.total,
                    f"processed {processed:,} rows but {in_range - rest:,} staging rows match "
                    "the range this job covered (the registry changed during the run?)",
                )
                raise _Finished
            # End this job first: the continuation is the same request, and only one job
            # per request may be queued or running (background_jobs_active_request_base).
            await self.finish("done", processed)
            if rest > 0:
                self.report.next_job_id = await self._enqueue_continuation(rest)
        self.log("job_continued", rows=processed, next_job_id=self.report.next_job_id)
        raise _Finished

    async def _enqueue_continuation(self, rest: int) -> int:
        base_key = self.job.request_key.split(":after:")[0]
        child = await queue.enqueue_staging_upsert(
            self.conn,
            tenant_id=self.job.tenant_id,
            terms=self.terms,
            codes=self.codes,
            total=rest,
            max_attempts=self.job.max_attempts,
            parent_job_id=self.job.job_id,
            cursor={
                "from": list(self.after),
                "code": self.after[0],
                "uen": self.after[1],
                "covered": self.covered + self.progress.processed,
            },
            key=f"{base_key}:after:{self.job.job_id}",
            search_id=self.search_id,
        )
        return child.job_id


async def run_job(
    pool: AsyncConnectionPool[Any],
    job: queue.Claimed,
    *,
    owner: str,
    stop: asyncio.Event | None = None,
    on_progress: ProgressFn | None = None,
) -> RunReport:
    """Run one claimed job to a final status, a retry, a graceful stop, or a lost lease."""
    stop = stop or asyncio.Event()
    settings = get_settings()
    report = RunReport(job.job_id, job.tenant_id, "running", job.processed, job.total)
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    errors = 0

    async def walk_job() -> None:
        async with pool.connection() as conn:
            if job.job_type != queue.STAGING_UPSERT:
                async with conn.transaction():
                    await _end_in_error(
                        conn, report, owner=owner, error=f"unknown job type {job.job_type!r}"
                    )
                return
            walk = _Walk(conn, job, report, owner=owner, stop=stop, on_progress=on_progress)
            # A registry load publishes between walks, never during one.
            async with registry_stable(conn):
                await walk.run()

    try:
        async with _Heartbeat(pool, job.job_id, owner, float(settings.job_lease_seconds)) as beat:
            await beat.guard(walk_job())
    except _Finished:
        pass
    except queue.LeaseLost as exc:
        report.status = "lost"
        report.error = str(exc)
        log_event(
            "error",
            level=logging.WARNING,
            job_id=job.job_id,
            tenant=job.tenant_id,
            error=str(exc),
            rows=report.processed,
        )
    except Exception as exc:  # every failure becomes a job error or a retry, never success
        errors += 1
        report.error = describe(exc)
        await _record_failure(pool, job, report, owner=owner, exc=exc)
    duration_ms = (time.perf_counter() - t0) * 1000
    if report.status in queue.FINISHED:
        JOBS_FINISHED.labels(job.job_type, report.status).inc()
    log_event("job_end", **report.outcome(), duration_ms=round(duration_ms, 1))
    if report.status != "interrupted":  # unreachable database: the log line above keeps them
        await _record_stats(
            pool, job, report, errors=errors, started_at=started_at, duration_ms=duration_ms
        )
    return report


async def _end_in_error(
    conn: AsyncConnection[Any], report: RunReport, *, owner: str, error: str | None
) -> None:
    """End the job in ``error`` with the report's total (inside the caller's transaction)."""
    await queue.finish_job(
        conn, job_id=report.job_id, owner=owner, status="error", total=report.total, error=error
    )
    report.status = "error"


async def _record_failure(
    pool: AsyncConnectionPool[Any],
    job: queue.Claimed,
    report: RunReport,
    *,
    owner: str,
    exc: BaseException,
) -> None:
    outage = report.outage = is_outage(exc)
    transient = is_transient(exc)
    await report_failure(  # the one log line of this failure (with its traceback if a bug)
        exc,
        stage=job.job_type,
        job_id=job.job_id,
        tenant=job.tenant_id,
        transient=transient,
        outage=outage,
        rows=report.processed,
    )
    try:
        # After an outage the pool reconnects on its own (slow) backoff: do not wait for it;
        # the worker probes, renews the pool and releases the job as soon as it can.
        timeout = OUTAGE_RECORD_TIMEOUT_SECONDS if outage else None
        async with pool.connection(timeout=timeout) as conn, conn.transaction():
            if transient:
                report.status = await queue.retry_job(
                    conn, job_id=job.job_id, owner=owner, error=report.error or "", count=not outage
                )
            else:
                await _end_in_error(conn, report, owner=owner, error=report.error)
    except queue.LeaseLost:
        report.status = "lost"
    except DB_DOWN as exc2:
        # The database is unreachable: the worker releases the job once it answers again
        # (or, if this process dies, another runner resumes it after the lease).
        report.status = "interrupted"
        await report_failure(
            exc2, stage=job.job_type, job_id=job.job_id, tenant=job.tenant_id, recording=True
        )


async def _record_stats(
    pool: AsyncConnectionPool[Any],
    job: queue.Claimed,
    report: RunReport,
    *,
    errors: int,
    started_at: datetime,
    duration_ms: float,
) -> None:
    try:
        async with pool.connection() as conn, conn.transaction():
            await queue.insert_stage_stats(
                conn,
                job_id=job.job_id,
                tenant_id=job.tenant_id,
                stage=job.job_type,
                rows=report.rows,
                batches=report.batches,
                p50_ms=percentile(report.batch_ms, 50),
                p95_ms=percentile(report.batch_ms, 95),
                errors=errors,
                duration_ms=duration_ms,
                started_at=started_at,
            )
    except (psycopg.Error, PoolTimeout, OSError) as exc:
        log_event("stats_failed", level=logging.WARNING, job_id=job.job_id, error=describe(exc))


async def release_interrupted(
    pool: AsyncConnectionPool[Any], report: RunReport, *, owner: str
) -> bool:
    """Put back a job whose run an outage interrupted (no attempt counted); True if ours."""
    async with pool.connection() as conn, conn.transaction():
        mine = await queue.release_job(conn, job_id=report.job_id, owner=owner)
    log_event(
        "job_released",
        job_id=report.job_id,
        tenant=report.tenant_id,
        reason="the database is back after an outage",
        still_ours=mine,
    )
    return mine


async def claim_next(
    pool: AsyncConnectionPool[Any],
    *,
    owner: str,
    claim_all: bool = True,
    ended: list[RunReport] | None = None,
) -> queue.Claimed | None:
    """End exhausted abandoned jobs (appended to ``ended``), then claim the next job or None.

    ``claim_all`` false: only released queued jobs (and abandoned ones) are claimed.
    """
    lease = float(get_settings().job_lease_seconds)
    async with pool.connection() as conn:
        async with conn.transaction():
            failed = await queue.fail_exhausted(conn)
        for row in failed:
            JOBS_FINISHED.labels(queue.STAGING_UPSERT, "error").inc()
            log_event(
                "job_end",
                level=logging.ERROR,
                job_id=row["job_id"],
                tenant=row["tenant_id"],
                status="error",
                error=row["error"],
            )
            if ended is not None:
                ended.append(
                    RunReport(
                        int(row["job_id"]),
                        str(row["tenant_id"]),
                        "error",
                        int(row["processed"]),
                        int(row["total"]),
                        error=str(row["error"]),
                        claimed=False,
                    )
                )
        async with conn.transaction():
            return await queue.claim_job(
                conn, owner=owner, lease_seconds=lease, claim_all=claim_all
            )


async def drain(
    pool: AsyncConnectionPool[Any] | None = None,
    *,
    owner: str | None = None,
    stop: asyncio.Event | None = None,
    on_progress: ProgressFn | None = None,
    on_report: Callable[[RunReport], None] | None = None,
    max_jobs: int | None = None,
    claim_all: bool = True,
) -> list[RunReport]:
    """Run claimable jobs one after another until none is left (or ``stop`` is set).

    Jobs that ended in error because they were abandoned on their last attempt are
    reported too. An ``interrupted`` run (database unreachable) ends the drain.
    """
    pool = pool or await get_pool("runner")
    owner = owner or new_owner()
    stop = stop or asyncio.Event()
    reports: list[RunReport] = []
    runs = 0
    while not stop.is_set() and (max_jobs is None or runs < max_jobs):
        ended: list[RunReport] = []
        job = await claim_next(pool, owner=owner, claim_all=claim_all, ended=ended)
        for report in ended:
            reports.append(report)
            if on_report is not None:
                on_report(report)
        if job is None:
            break
        report = await run_job(pool, job, owner=owner, stop=stop, on_progress=on_progress)
        runs += 1
        reports.append(report)
        if on_report is not None:
            on_report(report)
        if report.status == "interrupted":
            break
    return reports


async def prune(pool: AsyncConnectionPool[Any] | None = None) -> int:
    """Delete finished jobs older than ICP_JOB_RETENTION_DAYS; return how many."""
    pool = pool or await get_pool("runner")
    async with pool.connection() as conn:
        return await queue.prune(conn, days=get_settings().job_retention_days)
