"""The scheduler in the deployment: drain the job queue on ``NIGHTLY_CRON`` (``NIGHTLY_TZ``).

APScheduler 3's ``AsyncIOScheduler`` runs on the server's event loop, started and stopped
by the custom app's lifespan. Guarantees:

* **Once per fire across replicas.** A fire first inserts ``(job_name, fire_time)`` into
  ``scheduler_fires`` (``ON CONFLICT DO NOTHING``); only the replica whose insert
  succeeded drains the queue. Jobs themselves never run twice at once either way
  (``SKIP LOCKED`` claims and owner-checked leases).
* **Catch-up.** The in-memory job store cannot know about fires missed while the server
  was down, so on start the latest scheduled fire before now is looked up: without a
  row it runs once now. Live work that a recorded fire should have drained (queued
  before it, or abandoned by a dead runner) is also drained on start.
* **Graceful shutdown.** ``stop_scheduler`` sets a stop flag that the runner checks
  between batches; the job in progress goes back to the queue at its cursor.
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
from jobs.runner import drain, new_owner, prune

JOB_NAME = "drain_queue"
# A fire missed by up to this long (server busy or just restarted) still runs, once.
MISFIRE_GRACE_SECONDS = 12 * 3600


@dataclass
class SchedulerHandle:
    """What ``stop_scheduler`` needs: the scheduler, the stop flag and running drains."""

    scheduler: AsyncIOScheduler
    trigger: CronTrigger
    owner: str
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
    pool = pool or await get_pool()
    async with pool.connection() as conn, conn.transaction():
        return await queue.record_fire(conn, job_name=job_name, fire_time=fire_time, fired_by=owner)


async def _drain_and_prune(owner: str, stop: asyncio.Event, reason: str) -> int:
    log_event("drain_start", stage="scheduler", owner=owner, reason=reason)
    reports = await drain(owner=owner, stop=stop)
    pruned = 0 if stop.is_set() else await prune()
    log_event(
        "drain_end",
        stage="scheduler",
        owner=owner,
        reason=reason,
        runs=len(reports),
        statuses=[r.status for r in reports],
        pruned=pruned,
    )
    return len(reports)


async def run_fire(fire_time: datetime, *, owner: str, stop: asyncio.Event | None = None) -> bool:
    """Drain the queue for one fire if this caller wins it; return whether it did."""
    if not await claim_fire(fire_time, owner=owner):
        log_event("fire_skipped", stage="scheduler", owner=owner, fire_time=fire_time)
        return False
    await _drain_and_prune(owner, stop or asyncio.Event(), f"fire {fire_time.isoformat()}")
    return True


async def catch_up(
    trigger: CronTrigger,
    *,
    owner: str,
    stop: asyncio.Event | None = None,
    now: datetime | None = None,
) -> str:
    """Run a fire missed while down, or drain work a past fire left; return what happened."""
    stop = stop or asyncio.Event()
    tz = trigger.timezone
    now = now or datetime.now(tz)
    fire = latest_fire(trigger, now)
    if fire is None:
        return "no past fire"
    if await run_fire(fire, owner=owner, stop=stop):
        return "ran missed fire"
    pool = await get_pool()
    async with pool.connection() as conn:
        overdue = await queue.overdue_jobs(conn, before=fire)
    if overdue:
        await _drain_and_prune(owner, stop, "recovery: work left by an interrupted drain")
        return "drained overdue jobs"
    return "up to date"


def _track(handle: SchedulerHandle) -> None:
    task = asyncio.current_task()
    if task is not None:
        handle.tasks.add(task)
        task.add_done_callback(handle.tasks.discard)


async def _scheduled_fire(handle: SchedulerHandle) -> None:
    _track(handle)
    now = datetime.now(handle.trigger.timezone)
    fire = latest_fire(handle.trigger, now) or now.replace(second=0, microsecond=0)
    try:
        await run_fire(fire, owner=handle.owner, stop=handle.stop)
    except Exception as exc:  # one log line; the next fire (or the catch-up) retries
        await report_failure(exc, stage="scheduler", owner=handle.owner, fire_time=fire)


async def _start_catch_up(handle: SchedulerHandle) -> None:
    _track(handle)
    try:
        outcome = await catch_up(handle.trigger, owner=handle.owner, stop=handle.stop)
        log_event("catch_up", stage="scheduler", owner=handle.owner, outcome=outcome)
    except Exception as exc:  # one log line; the next fire retries, the server keeps serving
        await report_failure(exc, stage="scheduler", owner=handle.owner, step="catch-up")


async def start_scheduler() -> SchedulerHandle:
    """Start the queue drain on NIGHTLY_CRON and the start-up catch-up; return a handle."""
    trigger = cron_trigger()
    scheduler = AsyncIOScheduler(timezone=trigger.timezone)
    handle = SchedulerHandle(scheduler=scheduler, trigger=trigger, owner=new_owner())
    scheduler.add_job(
        _scheduled_fire,
        trigger,
        args=[handle],
        id=JOB_NAME,
        name="drain the job queue",
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )
    scheduler.start()
    task = asyncio.create_task(_start_catch_up(handle), name="icp-scheduler-catch-up")
    handle.tasks.add(task)
    next_run = scheduler.get_job(JOB_NAME).next_run_time
    log_event("scheduler_start", stage="scheduler", owner=handle.owner, next_run=next_run)
    return handle


async def stop_scheduler(handle: SchedulerHandle | None) -> None:
    """Stop firing, and let a running drain stop at its next batch boundary."""
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
    log_event("scheduler_stop", stage="scheduler", owner=handle.owner)
