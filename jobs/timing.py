"""When will a job's work happen? One answer for the chat, the routes and the page.

:func:`job_timings` reads what is alive from ``job_runners`` (each server's worker and the
schedule its scheduler fires, ``icp jobs run``) and the queue, and says per job:

* ``running``: a runner holds it; ``eta_seconds`` from the rows per second measured in
  this run (before its first batch: over the latest runs);
* ``now``: a live runner takes it at once (``JOBS_START=immediate``, ``icp jobs run``, or
  work already released: run now, a continuation, a resumed run), possibly after the
  jobs ahead of it;
* ``retry``: it waits for a backoff after a failure, or for the lease of a runner that
  stopped, to end at ``runs_at``;
* ``scheduled``: it waits for the next fire of a live server's schedule (``nightly``);
* ``no_runner``: no live process will run it, and the text says so instead of promising
  a run no one makes (a deployment without a server, between ``icp jobs run`` calls);
* ``finished``.

``text`` is a verb phrase that follows "job 7 …" ("starts now", "runs at the next
scheduled run, 02:00 tomorrow (Asia/Singapore), in 15 h 20 min").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from psycopg import AsyncConnection

from config.settings import get_settings
from jobs import queue
from jobs.worker import LIVE_SECONDS

Start = Literal["running", "now", "retry", "scheduled", "no_runner", "finished"]

NO_RUNNER = (
    "waits: no server and no `icp jobs run` is running to process queued jobs right now "
    "(an operator runs them with `icp jobs run`)"
)


@dataclass(frozen=True)
class JobTiming:
    """When a job's work happens."""

    start: Start
    runs_at: datetime | None
    """When the work starts (started, for a running job); None when no runner will run it."""
    eta_seconds: int | None
    """While running: seconds left at the measured rate (None before any measurement)."""
    text: str
    """A verb phrase for people: "starts now", "is running, about 3 min left", ..."""


@dataclass(frozen=True)
class _Alive:
    """What can run work, as the database saw it at ``now``."""

    now: datetime
    runners: int
    claim_all: int
    schedules: frozenset[tuple[str, str]]
    rate: float | None


async def job_timing(conn: AsyncConnection[Any], job: Mapping[str, Any]) -> JobTiming:
    """Return when one job (a ``get_job`` row) does its work."""
    return (await job_timings(conn, [job]))[0]


async def job_timings(
    conn: AsyncConnection[Any], jobs: Sequence[Mapping[str, Any]]
) -> list[JobTiming]:
    """Return when each job (``get_job``/``list_jobs`` rows) does its work, in order."""
    if not jobs:
        return []
    now, runners = await queue.live_runners(conn, live_seconds=LIVE_SECONDS)
    alive = _Alive(
        now=now,
        runners=len(runners),
        claim_all=sum(1 for r in runners if r["claims"] == "all"),
        schedules=frozenset((r["cron"], r["cron_tz"]) for r in runners if r["cron"]),
        rate=(
            await queue.recent_rate(conn) if any(j["status"] == "running" for j in jobs) else None
        ),
    )
    queued = [int(j["job_id"]) for j in jobs if j["status"] == "queued"]
    ahead = await queue.jobs_ahead(conn, queued, claim_all=alive.claim_all > 0) if runners else {}
    return [_timing(j, alive, ahead.get(int(j["job_id"]), (0, 0))) for j in jobs]


def _timing(job: Mapping[str, Any], alive: _Alive, ahead: tuple[int, int]) -> JobTiming:
    status, now = str(job["status"]), alive.now
    if status in queue.FINISHED:
        return JobTiming("finished", None, None, f"ended {status}")
    if status == "running":
        lease = job["lease_until"]
        if lease is not None and lease > now:
            eta = _eta(job, now, alive.rate)
            left = f", about {duration(eta)} left" if eta is not None else ""
            return JobTiming("running", job["run_started_at"], eta, f"is running{left}")
        if not alive.runners:
            return JobTiming("no_runner", None, None, NO_RUNNER)
        at = (lease or now) + timedelta(seconds=queue.backoff_seconds(int(job["attempts"])))
        if at <= now:
            return JobTiming("now", now, None, "is being resumed now (its runner stopped)")
        return JobTiming("retry", at, None, f"is resumed at {clock(at, now)} (its runner stopped)")
    takers = alive.runners if job["released"] else alive.claim_all
    if takers:
        at = max(now, job["run_after"])
        if at > now:
            return JobTiming("retry", at, None, f"is retried at {clock(at, now)}")
        before, busy = ahead
        if before == 0 and busy < takers:
            return JobTiming("now", now, None, "starts now")
        n = before + busy
        return JobTiming(
            "now",
            now,
            None,
            f"starts as soon as a runner is free ({n} job{'' if n == 1 else 's'} before it)",
        )
    fires = [(f, tz) for cron, tz in alive.schedules if (f := next_fire(cron, tz, now))]
    if fires:
        fire, tz = min(fires)
        at = max(fire, job["run_after"])
        return JobTiming(
            "scheduled", at, None, f"runs at the next scheduled run, {clock(at, now, tz)}"
        )
    return JobTiming("no_runner", None, None, NO_RUNNER)


def _eta(job: Mapping[str, Any], now: datetime, fallback: float | None) -> int | None:
    rate = fallback
    done_here = int(job["processed"]) - int(job["run_base"])
    started = job["run_started_at"]
    if done_here > 0 and started is not None and now > started:
        rate = done_here / (now - started).total_seconds()
    if not rate:
        return None
    return math.ceil(max(int(job["total"]) - int(job["processed"]), 0) / rate)


@lru_cache(maxsize=32)
def _trigger(cron: str, tz: str) -> CronTrigger:
    return CronTrigger.from_crontab(cron, timezone=ZoneInfo(tz))


def next_fire(cron: str, tz: str, now: datetime) -> datetime | None:
    """Return the next fire of a crontab in a time zone after ``now`` (None if never)."""
    try:
        fire: datetime | None = _trigger(cron, tz).get_next_fire_time(None, now)
    except (ValueError, KeyError):
        return None  # a row written by another version with a schedule this one cannot read
    return fire


def duration(seconds: float) -> str:
    """Return a short human duration: 45 s, 12 min, 3 h 5 min, 2 days 4 h."""
    s = max(0, math.ceil(seconds))
    if s < 60:
        return f"{s} s"
    m = math.ceil(s / 60)
    if m < 60:
        return f"{m} min"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(h, 24)
    return f"{d} day{'' if d == 1 else 's'}" + (f" {h} h" if h else "")


def clock(at: datetime, now: datetime, tz: str | None = None) -> str:
    """Return e.g. "02:00 tomorrow (Asia/Singapore), in 15 h 20 min" (NIGHTLY_TZ by default)."""
    tz = tz or get_settings().nightly_tz
    local, today = at.astimezone(ZoneInfo(tz)), now.astimezone(ZoneInfo(tz)).date()
    days = (local.date() - today).days
    day = {0: "today", 1: "tomorrow"}.get(days, f"{local:%a %d %b}")
    time_of_day = f"{local:%H:%M:%S}" if at - now < timedelta(minutes=5) else f"{local:%H:%M}"
    return f"{time_of_day} {day} ({tz}), in {duration((at - now).total_seconds())}"
