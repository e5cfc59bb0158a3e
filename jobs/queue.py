"""The Postgres job queue on ``background_jobs``: enqueue, claim, progress, finish.

States: ``queued -> running -> done | error | cancelled``. A runner claims a job with one
``FOR UPDATE SKIP LOCKED`` statement and holds a lease (``lease_owner``/``lease_until``)
that it renews after every batch and from a heartbeat. A job whose lease expired (its
runner died or hung) is claimed again by any live runner and resumed from its cursor,
after a short backoff. Every update a runner makes names the owner in its ``WHERE``, so a
zombie runner cannot overwrite a job that another runner resumed: the update matches no
row and :class:`LeaseLost` is raised.

*Released* jobs are claimable by every runner; a queued job that is not released waits
for the scheduled fire (``JOBS_START=nightly``), which releases it. Claiming, a
continuation, a retry, a graceful release and "run now" all release a job, so interrupted
work never waits for the next fire. Runners ``LISTEN`` on :data:`CHANNEL`; enqueue,
release and retry ``NOTIFY`` it at commit.

``attempts`` counts *failures*: runs that ended in an error, or that were interrupted
(killed, hung, a transient error) before committing a batch. An interruption after
progress, a graceful stop and a database outage the runner survived cost no attempt;
after ``max_attempts`` failures the job ends in ``error`` with the reason. ``runs``
counts claims.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from db.companies import IcpCode
from db.queries import q

STAGING_UPSERT = "staging_upsert"
CHANNEL = "icp_jobs"
"""The LISTEN/NOTIFY channel that wakes runners."""
ENQUEUE_LOCK_SPACE = 0x1C9_10
"""First key of the two-key advisory lock that serializes enqueues of one request."""


@dataclass(frozen=True)
class Enqueued:
    """The job a request maps to, and whether this call created it."""

    job_id: int
    status: str
    processed: int
    total: int
    created: bool
    resumed_from: int | None = None
    """The unfinished job whose range this new job resumes (from its cursor)."""


def request_key(codes: Sequence[IcpCode]) -> str:
    """Return the normalized-request key: the sorted SSIC code set."""
    return hashlib.sha256(",".join(sorted({c.code for c in codes})).encode()).hexdigest()[:32]


def staging_params(
    terms: Sequence[str], codes: Sequence[IcpCode], search_id: int | None = None
) -> dict[str, Any]:
    """Return the JSON params of a staging_upsert job (``search_id``: the saved search it
    scores into; without one the runner finds or creates the search of its code set)."""
    return {
        "terms": list(terms),
        **({"search_id": search_id} if search_id is not None else {}),
        "codes": [
            {"code": c.code, "weight": c.weight, "term": c.term, "title": c.title}
            for c in sorted(codes, key=lambda c: c.code)
        ],
    }


def codes_from_params(params: dict[str, Any]) -> list[IcpCode]:
    """Rebuild the ICP code list stored in a job's params."""
    return [
        IcpCode(str(c["code"]), float(c["weight"]), str(c["term"]), str(c.get("title", "")))
        for c in params.get("codes", [])
    ]


async def enqueue_staging_upsert(
    conn: AsyncConnection[Any],
    *,
    tenant_id: str,
    terms: Sequence[str],
    codes: Sequence[IcpCode],
    total: int,
    max_attempts: int = 3,
    parent_job_id: int | None = None,
    cursor: dict[str, Any] | None = None,
    key: str | None = None,
    search_id: int | None = None,
) -> Enqueued:
    """Queue a staging_upsert job, or return the tenant's queued/running twin.

    A fresh request (no ``cursor``) whose latest job of the same request ended part-way
    (error, cancelled) resumes that job's range from its cursor instead of starting over;
    one whose latest job finished after the registry last changed (``registry_changed``)
    gets that job back (status done, ``created`` False): its scores are current.
    Repeats take the request's advisory lock and find the twin before any insert, so they
    burn no job id. A continuation (``cursor`` given) is released at once: it carries on
    work that is already running.
    """
    fields: dict[str, Any] = {
        "tenant_id": tenant_id,
        "job_type": STAGING_UPSERT,
        "request_key": key or request_key(codes),
        "lock_space": ENQUEUE_LOCK_SPACE,
    }
    async with conn.transaction():
        await conn.execute(q("lock_request"), fields)
        cur = await conn.execute(q("live_request_job"), fields)
        live = await cur.fetchone()
        if live:
            return Enqueued(int(live[0]), str(live[1]), int(live[2]), int(live[3]), False)
        resumed_from = None
        if cursor is None:
            cur = await conn.execute(q("latest_request_job"), fields)
            latest = await cur.fetchone()
            if latest is not None and latest[5]:
                # Finished (the whole request: a continuation or resume is the latest job
                # of a request only once it ran) after the registry last changed: current.
                return Enqueued(int(latest[0]), "done", int(latest[2]), int(latest[3]), False)
            resume = await _resume_point(conn, fields, [c.code for c in codes], latest)
            if resume is not None:
                resumed_from, cursor, total = resume
                parent_job_id = resumed_from
                fields["request_key"] = f"{fields['request_key']}:after:{resumed_from}"
        cur = await conn.execute(
            q("insert_job"),
            {
                **fields,
                "params": Jsonb(staging_params(terms, codes, search_id)),
                "total": total,
                "max_attempts": max_attempts,
                "parent_job_id": parent_job_id,
                "cursor": Jsonb(cursor) if cursor is not None else None,
                "released": cursor is not None and resumed_from is None,
            },
        )
        row = await cur.fetchone()
    assert row is not None  # an INSERT ... RETURNING row
    return Enqueued(int(row[0]), str(row[1]), int(row[2]), int(row[3]), True, resumed_from)


async def _resume_point(
    conn: AsyncConnection[Any], fields: dict[str, Any], codes: Sequence[str], row: Any
) -> tuple[int, dict[str, Any], int] | None:
    """Return (job id, cursor, rows left) when the request's latest job (``row``) ended
    part-way."""
    if row is None or row[1] not in ("error", "cancelled") or not row[2] or not row[4]:
        return None
    job_id, processed, old = int(row[0]), int(row[2]), dict(row[4])
    if "code" not in old or "uen" not in old:
        return None
    after = (str(old["code"]), str(old["uen"]))
    rest = await count_staging_after(conn, codes, after)
    if rest == 0:
        return None
    covered = int(old.get("covered", 0)) + processed
    cursor = {"from": list(after), "code": after[0], "uen": after[1], "covered": covered}
    return job_id, cursor, rest


# Backoff before a failed or abandoned job runs again: base * 2^(attempt-1), capped.
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 600.0
FINISHED = ("done", "error", "cancelled")
STATUSES = ("queued", "running", *FINISHED)


class LeaseLost(RuntimeError):
    """This runner no longer owns the job (its lease expired and another runner took it)."""


@dataclass(frozen=True)
class Claimed:
    """A job a runner has just claimed."""

    job_id: int
    tenant_id: str
    job_type: str
    params: dict[str, Any]
    request_key: str
    processed: int
    total: int
    cursor: dict[str, Any] | None
    attempts: int
    """Failures so far (see the module docstring)."""
    max_attempts: int
    runs: int
    """Claims so far, this one included."""
    cancel_requested: bool
    resumed: bool
    """Whether this claim took over a run whose lease expired."""


@dataclass(frozen=True)
class Progress:
    """A job's counters after a runner's update."""

    processed: int
    total: int
    cancel_requested: bool


def _backoff() -> dict[str, float]:
    return {"backoff_base": BACKOFF_BASE_SECONDS, "backoff_cap": BACKOFF_CAP_SECONDS}


def backoff_seconds(failures: int) -> float:
    """Return the wait before a job with that many failures runs again (as the SQL does)."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** max(failures - 1, 0))


async def fail_exhausted(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    """End in error the jobs abandoned without progress on their last attempt."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(q("fail_exhausted_jobs"), {})
        return await cur.fetchall()


async def claim_job(
    conn: AsyncConnection[Any], *, owner: str, lease_seconds: float, claim_all: bool = True
) -> Claimed | None:
    """Claim the oldest runnable job (queued, or abandoned by a dead runner), or None.

    With ``claim_all`` false only released queued jobs are taken (a nightly server's
    worker between fires); abandoned running jobs are always taken.
    """
    params = {"owner": owner, "lease_seconds": lease_seconds, "claim_all": claim_all, **_backoff()}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(q("claim_job"), params)
        row = await cur.fetchone()
    if row is None:
        return None
    return Claimed(
        job_id=int(row["job_id"]),
        tenant_id=str(row["tenant_id"]),
        job_type=str(row["job_type"]),
        params=dict(row["params"] or {}),
        request_key=str(row["request_key"]),
        processed=int(row["processed"]),
        total=int(row["total"]),
        cursor=dict(row["cursor"]) if row["cursor"] is not None else None,
        attempts=int(row["attempts"]),
        max_attempts=int(row["max_attempts"]),
        runs=int(row["runs"]),
        cancel_requested=bool(row["cancel_requested"]),
        resumed=row["prev_status"] == "running",
    )


def _progress(row: tuple[Any, ...] | None) -> Progress:
    if row is None:
        raise LeaseLost("the job's lease is no longer ours")
    return Progress(int(row[0]), int(row[1]), bool(row[2]))


async def heartbeat(
    conn: AsyncConnection[Any], *, job_id: int, owner: str, lease_seconds: float
) -> str:
    """Renew the lease of a job this runner owns; return its status. Raise LeaseLost.

    A status other than ``running`` means this runner itself already ended or released it.
    """
    cur = await conn.execute(
        q("heartbeat_job"), {"job_id": job_id, "owner": owner, "lease_seconds": lease_seconds}
    )
    row = await cur.fetchone()
    if row is None:
        raise LeaseLost(f"job {job_id}: lease lost (another runner took the job over)")
    return str(row[0])


async def record_progress(
    conn: AsyncConnection[Any],
    step: Literal["start_job", "record_batch"],
    *,
    job_id: int,
    owner: str,
    lease_seconds: float,
    cursor: dict[str, Any],
    total: int = 0,
    rows: int = 0,
) -> Progress:
    """Move a running job's cursor and renew its lease, at one ``step`` of its run.

    ``start_job`` records the refreshed ``total`` at the start of a run; ``record_batch``
    adds a batch's ``rows`` (call it inside the batch's transaction).
    """
    cur = await conn.execute(
        q(step),
        {
            "job_id": job_id,
            "owner": owner,
            "lease_seconds": lease_seconds,
            "total": total,
            "rows": rows,
            "cursor": Jsonb(cursor),
        },
    )
    return _progress(await cur.fetchone())


async def finish_job(
    conn: AsyncConnection[Any],
    *,
    job_id: int,
    owner: str,
    status: str,
    total: int,
    error: str | None = None,
) -> None:
    """End an owned running job as done, error or cancelled. Raise LeaseLost."""
    cur = await conn.execute(
        q("finish_job"),
        {"job_id": job_id, "owner": owner, "status": status, "total": total, "error": error},
    )
    if await cur.fetchone() is None:
        raise LeaseLost(f"job {job_id}: lease lost before it could end {status}")


async def retry_job(
    conn: AsyncConnection[Any], *, job_id: int, owner: str, error: str, count: bool = True
) -> str:
    """Requeue an owned job after a transient failure (or end it in error); return the status.

    ``count``: whether the failure may cost an attempt (false for a database outage); it
    does only when the run committed no batch.
    """
    cur = await conn.execute(
        q("retry_job"),
        {"job_id": job_id, "owner": owner, "error": error, "count": count, **_backoff()},
    )
    row = await cur.fetchone()
    if row is None:
        raise LeaseLost(f"job {job_id}: lease lost before it could be retried")
    await notify_runners(conn, "retry")
    return str(row[1])


async def release_job(conn: AsyncConnection[Any], *, job_id: int, owner: str) -> bool:
    """Put an owned job back in the queue, released; return whether it was ours."""
    cur = await conn.execute(q("release_job"), {"job_id": job_id, "owner": owner})
    mine = await cur.fetchone() is not None
    if mine:
        await notify_runners(conn, "released")
    return mine


async def run_now(conn: AsyncConnection[Any], job_id: int, tenant_id: str | None) -> bool:
    """Make a queued job claimable by any live runner now; False if it is not queued."""
    cur = await conn.execute(q("run_job_now"), {"job_id": job_id, "tenant_id": tenant_id})
    queued = await cur.fetchone() is not None
    if queued:
        await notify_runners(conn, "run_now")
    return queued


async def release_queued(conn: AsyncConnection[Any]) -> int:
    """Release every queued job waiting for the scheduled fire; return how many."""
    cur = await conn.execute(q("release_queued"), {})
    n = len(await cur.fetchall())
    await notify_runners(conn, "fire")
    return n


async def notify_runners(conn: AsyncConnection[Any], reason: str) -> None:
    """Wake every listening runner when the current transaction commits."""
    await conn.execute(q("notify_runners"), {"reason": reason})


async def next_due(conn: AsyncConnection[Any], *, claim_all: bool) -> float | None:
    """Return seconds until some job is claimable for such a runner (<= 0: now; None: none)."""
    cur = await conn.execute(q("next_due"), {"claim_all": claim_all, **_backoff()})
    row = await cur.fetchone()
    return None if row is None or row[0] is None else float(row[0])


async def cancel_job(conn: AsyncConnection[Any], job_id: int, tenant_id: str | None) -> bool:
    """Cancel a queued job now, or ask its runner to stop; False if not live (or not found)."""
    cur = await conn.execute(q("cancel_job"), {"job_id": job_id, "tenant_id": tenant_id})
    return await cur.fetchone() is not None


async def get_job(
    conn: AsyncConnection[Any], job_id: int, tenant_id: str | None
) -> dict[str, Any] | None:
    """Return one job (of the tenant, or any tenant when None)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(q("get_job"), {"job_id": job_id, "tenant_id": tenant_id})
        return await cur.fetchone()


async def list_jobs(
    conn: AsyncConnection[Any],
    *,
    tenant_id: str | None,
    status: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Return one keyset page of jobs, newest first, with job_id < before."""
    params = {
        "tenant_id": tenant_id,
        "status": status,
        "before": before if before is not None else 2**63 - 1,
        "limit": limit,
    }
    async with conn.cursor(row_factory=dict_row) as cur:
        # Unprepared: a generic plan cannot use the tenant/status index for "x IS NULL OR".
        await cur.execute(q("list_jobs"), params, prepare=False)
        return await cur.fetchall()


async def count_staging_after(
    conn: AsyncConnection[Any], codes: Sequence[str], after: tuple[str, str]
) -> int:
    """Return the exact number of matching staging rows after the keyset position."""
    cur = await conn.execute(
        q("count_staging_after"),
        {"codes": list(codes), "after_code": after[0], "after_uen": after[1]},
        prepare=False,
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def insert_stage_stats(conn: AsyncConnection[Any], **stats: Any) -> None:
    """Record one run's statistics in run_stage_stats."""
    await conn.execute(q("insert_stage_stats"), stats)


async def prune(conn: AsyncConnection[Any], *, days: int, chunk: int = 1000) -> int:
    """Delete finished jobs (and scheduler fires) older than ``days``; return jobs deleted."""
    deleted = 0
    while True:
        async with conn.transaction():
            cur = await conn.execute(q("prune_jobs"), {"days": days, "limit": chunk})
            n = cur.rowcount
        deleted += max(n, 0)
        if n < chunk:
            break
    async with conn.transaction():
        await conn.execute(q("prune_fires"), {"days": days})
    return deleted


async def record_fire(
    conn: AsyncConnection[Any], *, job_name: str, fire_time: datetime, fired_by: str
) -> bool:
    """Record a scheduler fire; True only for the one caller that inserted it."""
    cur = await conn.execute(
        q("record_fire"), {"job_name": job_name, "fire_time": fire_time, "fired_by": fired_by}
    )
    return await cur.fetchone() is not None


async def fire_recorded(conn: AsyncConnection[Any], *, job_name: str, fire_time: datetime) -> bool:
    """Return whether a fire was already recorded (by any replica)."""
    cur = await conn.execute(q("fire_recorded"), {"job_name": job_name, "fire_time": fire_time})
    return await cur.fetchone() is not None


async def queue_waiting(conn: AsyncConnection[Any]) -> tuple[int, int]:
    """Return (queued, running) live jobs, whether or not claimable now."""
    cur = await conn.execute(q("queue_waiting"))
    row = await cur.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


async def register_runner(
    conn: AsyncConnection[Any],
    *,
    runner_id: str,
    kind: str,
    claims: str,
    cron: str | None = None,
    cron_tz: str | None = None,
) -> None:
    """Record (or refresh) a live runner: what it claims and the schedule it fires."""
    await conn.execute(
        q("register_runner"),
        {"runner_id": runner_id, "kind": kind, "claims": claims, "cron": cron, "cron_tz": cron_tz},
    )


async def unregister_runner(conn: AsyncConnection[Any], runner_id: str) -> None:
    """Forget a runner that stops cleanly (and rows of runners long dead)."""
    await conn.execute(q("unregister_runner"), {"runner_id": runner_id})
    await conn.execute(q("prune_runners"), {})


async def live_runners(
    conn: AsyncConnection[Any], *, live_seconds: float
) -> tuple[datetime, list[dict[str, Any]]]:
    """Return the database's clock and the runners seen within ``live_seconds``."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(q("live_runners"), {"live_seconds": live_seconds})
        rows = await cur.fetchall()
    return rows[0]["now"], [r for r in rows if r["kind"] is not None]


async def recent_rate(conn: AsyncConnection[Any]) -> float | None:
    """Return rows per second measured over the latest runs (None before any run)."""
    cur = await conn.execute(q("recent_rate"), {})
    row = await cur.fetchone()
    return None if row is None or row[0] is None else float(row[0])


async def jobs_ahead(
    conn: AsyncConnection[Any], job_ids: Sequence[int], *, claim_all: bool
) -> dict[int, tuple[int, int]]:
    """Return per job id: (claimable jobs ahead of it, jobs running now)."""
    if not job_ids:
        return {}
    cur = await conn.execute(q("jobs_ahead"), {"job_ids": list(job_ids), "claim_all": claim_all})
    return {int(r[0]): (int(r[1]), int(r[2])) for r in await cur.fetchall()}
