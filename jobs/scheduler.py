"""The jobs service of a server: the worker, and the scheduled fires of ``NIGHTLY_CRON``.

:func:`start_scheduler` (the custom app's lifespan) starts two things on the server's
event loop:

* a :class:`jobs.worker.Worker`, which runs jobs one at a time and rescues jobs whose
  lease expired, all day long. With ``JOBS_START=immediate`` it claims every queued job
  as soon as it is queued (woken by ``NOTIFY``); with ``nightly`` only released work;
* APScheduler 3's ``AsyncIOScheduler`` firing ``NIGHTLY_CRON`` in ``NIGHTLY_TZ``. A fire
  *releases* every queued job to every runner and prunes old jobs; the workers of all
  replicas then drain it. In ``immediate`` mode the fire only prunes (nothing waits).

Guarantees:

* **Once per fire across replicas.** A fire first inserts ``(job_name, fire_time)`` into
  ``scheduler_fires`` (``ON CONFLICT DO NOTHING``); only the replica whose insert
  succeeded releases the queue, in the same transaction. Jobs never run twice at once
  either way (``SKIP LOCKED`` claims and owner-checked leases).
* **Catch-up.** On start the latest scheduled fire before now is looked up: without a
  row it runs once now. Work a fire released but an interrupted drain left (a SIGTERM,
  a kill, an outage) is released or has an expired lease, so any live worker resumes it
  at once: nothing waits for the next fire.
* **Retries.** A fire or catch-up that fails (the database is down) is retried with a
  backoff (up to :data:`FIRE_RETRY_MAX_SECONDS`) until it succeeds, not given up until
  the next fire.
* **Graceful shutdown.** ``stop_scheduler`` sets a stop flag that the runner checks
  between batches; the job in progress goes back to the queue at its cursor, released,
  and any other live worker takes it over.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from psycopg_pool import AsyncConnectionPool

from config.settings import get_settings
from db.pool import get_pool
from jobs import queue
from jobs.failures import report_failure
from jobs.logs import log_event
from jobs.runner import DB_DOWN, new_owner, prune
from jobs.worker import Worker

JOB_NAME = "drain_queue"
# A fire missed by up to this long (server busy or just restarted) still runs, once.
MISFIRE_GRACE_SECONDS = 12 * 3600
FIRE_RETRY_MAX_SECONDS = 60.0
"""The longest wait between two tries of a failed fire or catch-up."""


@dataclass
class SchedulerHandle:
    """What ``stop_scheduler`` needs: the scheduler, the worker, the stop flag and tasks."""

    scheduler: AsyncIOScheduler
    trigger: CronTrigger
    owner: str
    worker: Worker
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)


def cron_trigger() -> CronTrigger:
    """Return the trigger of NIGHTLY_CRON in NIGHTLY_TZ."""
    settings = get_settings()
    return CronTrigger.from_crontab(settings.nightly_cron, timezone=ZoneInfo(settings.nightly_tz))


def latest_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """Return the latest fire time of ``trigger`` at or before ``now`` (None if none)."""
    for window in (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=400)):
        fire: datetime | None = trigger.get_next_fire_time(None, now - window)
        if fire is None or fire > now:
            continue
        while True:
            nxt: datetime | None = trigger.get_next_fire_time(fire, fire)
            if nxt is None or nxt > now:
                return fire
            fire = nxt
    return None


async def claim_fire(
    fire_time: datetime,
    *,
    owner: str,
    job_name: str = JOB_NAME,
    pool: AsyncConnectionPool[Any] | None = None,
) -> bool:
    """Record a fire; True only for the one caller (of any replica) that recorded it."""
    pool = pool or await get_pool("runner")
    async with pool.connection() as conn, conn.transaction():
        return await queue.record_fire(conn, job_name=job_name, fire_time=fire_time, fired_by=owner)


async def run_fire(
    fire_time: datetime, *, owner: str, pool: AsyncConnectionPool[Any] | None = None
) -> bool:
    """Record a fire and, if this caller wins it, release the queue; return whether it won.

    The release commits with the fire's row, so a fire is never recorded without its work
    being handed to the workers (of every replica, woken by NOTIFY).
    """
    pool = pool or await get_pool("runner")
    async with pool.connection() as conn, conn.transaction():
        won = await queue.record_fire(conn, job_name=JOB_NAME, fire_time=fire_time, fired_by=owner)
        released = await queue.release_queued(conn) if won else 0
    if not won:
        log_event("fire_skipped", stage="scheduler", owner=owner, fire_time=fire_time)
        return False
    log_event("fire", stage="scheduler", owner=owner, fire_time=fire_time, released=released)
    pruned = await prune(pool)
    log_event("pruned", stage="scheduler", owner=owner, jobs=pruned)
    return True


async def catch_up(trigger: CronTrigger, *, owner: str, now: datetime | None = None) -> str:
    """Run the latest fire if no replica recorded it (missed while down); say what happened."""
    now = now or datetime.now(trigger.timezone)
    fire = latest_fire(trigger, now)
    if fire is None:
        return "no past fire"
    if await run_fire(fire, owner=owner):
        return "ran missed fire"
    return "up to date"


async def _retrying(handle: SchedulerHandle, what: str, attempt: Any) -> Any:
    """Await ``attempt()`` until the database lets it succeed (or the server stops)."""
    delay = 1.0
    while True:
        try:
            return await attempt()
        except DB_DOWN as exc:  # one log line per try; retried
            await report_failure(
                exc, stage="scheduler", owner=handle.owner, step=what, retry_in_s=delay
            )
        except Exception as exc:  # a bug, not an outage: logged once, not retried
            await report_failure(exc, stage="scheduler", owner=handle.owner, step=what)
            return None
        try:
            await asyncio.wait_for(handle.stop.wait(), timeout=delay)
            return None  # stopping
        except TimeoutError:
            delay = min(delay * 2, FIRE_RETRY_MAX_SECONDS)


def _track(handle: SchedulerHandle) -> None:
    task = asyncio.current_task()
    if task is not None:
        handle.tasks.add(task)
        task.add_done_callback(handle.tasks.discard)


async def _scheduled_fire(handle: SchedulerHandle) -> None:
    _track(handle)
    now = datetime.now(handle.trigger.timezone)
    fire = latest_fire(handle.trigger, now) or now.replace(second=0, microsecond=0)
    if await _retrying(handle, "fire", lambda: run_fire(fire, owner=handle.owner)):
        handle.worker.poke()


async def _start_catch_up(handle: SchedulerHandle) -> None:
    _track(handle)
    outcome = await _retrying(
        handle, "catch-up", lambda: catch_up(handle.trigger, owner=handle.owner)
    )
    log_event("catch_up", stage="scheduler", owner=handle.owner, outcome=outcome)
    handle.worker.poke()


async def start_scheduler() -> SchedulerHandle:
    """Start the worker, the fires of NIGHTLY_CRON and the start-up catch-up; return a handle."""
    settings = get_settings()
    trigger = cron_trigger()
    scheduler = AsyncIOScheduler(timezone=trigger.timezone)
    owner = new_owner()
    worker = Worker(
        claim_all=settings.jobs_start == "immediate",
        kind="server",
        owner=owner,
        cron=settings.nightly_cron,
        cron_tz=settings.nightly_tz,
    )
    handle = SchedulerHandle(
        scheduler=scheduler, trigger=trigger, owner=owner, worker=worker, stop=worker.stop
    )
    scheduler.add_job(
        _scheduled_fire,
        trigger,
        args=[handle],
        id=JOB_NAME,
        name="release the job queue",
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )
    scheduler.start()
    await worker.register(timeout=2.0)  # alive for "when will it run" before any request
    for task in (
        asyncio.create_task(worker.serve(), name="icp-worker"),
        asyncio.create_task(_start_catch_up(handle), name="icp-scheduler-catch-up"),
    ):
        handle.tasks.add(task)
        task.add_done_callback(handle.tasks.discard)
    next_run = scheduler.get_job(JOB_NAME).next_run_time
    log_event(
        "scheduler_start",
        stage="scheduler",
        owner=owner,
        next_run=next_run,
        jobs_start=settings.jobs_start,
    )
    return handle


async def stop_scheduler(handle: SchedulerHandle | None) -> None:
    """Stop firing, and let the worker's job stop at its next batch boundary (released)."""
    if handle is None:
        return
    handle.stop.set()
    if handle.scheduler.running:
        handle.scheduler.shutdown(wait=False)
    pending = {t for t in handle.tasks if not t.done()}
    if pending:
        _done, late = await asyncio.wait(pending, timeout=get_settings().job_lease_seconds)
        for task in late:  # a batch still running: its job is resumed once the lease expires
            task.cancel()
        if late:
            await asyncio.wait(late)
    log_event("scheduler_stop", stage="scheduler", owner=handle.owner)
