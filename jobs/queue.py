"""The Postgres job queue on ``background_jobs``: enqueue, claim, progress, finish.

States: ``queued -> running -> done | error | cancelled``. A runner claims a job with one
``FOR UPDATE SKIP LOCKED`` statement and holds a lease (``lease_owner``/``lease_until``)
that it renews after every batch and from a heartbeat. A job whose lease expired (its
runner died) is claimed again and resumed from its cursor, with a backoff and an attempt
count; after ``max_attempts`` it ends in ``error`` with the reason. Every update a runner
makes names the owner in its ``WHERE``, so a zombie runner cannot overwrite a job that
another runner resumed: the update matches no row and :class:`LeaseLost` is raised.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from db.companies import IcpCode
from db.queries import q

STAGING_UPSERT = "staging_upsert"


@dataclass(frozen=True)
class Enqueued:
    """The job a request maps to, and whether this call created it."""

    job_id: int
    status: str
    processed: int
    total: int
    created: bool


def request_key(codes: Sequence[IcpCode]) -> str:
    """Return the normalized-request key: the sorted SSIC code set."""
    return hashlib.sha256(",".join(sorted({c.code for c in codes})).encode()).hexdigest()[:32]


def staging_params(terms: Sequence[str], codes: Sequence[IcpCode]) -> dict[str, Any]:
    """Return the JSON params of a staging_upsert job."""
    return {
        "terms": list(terms),
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


class EnqueueRace(RuntimeError):
    """The twin job committed and finished between our insert and read; try again."""


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
) -> Enqueued:
    """Queue a staging_upsert job, or return the tenant's queued/running twin."""
    params = {
        "tenant_id": tenant_id,
        "job_type": STAGING_UPSERT,
        "params": Jsonb(staging_params(terms, codes)),
        "request_key": key or request_key(codes),
        "total": total,
        "max_attempts": max_attempts,
        "parent_job_id": parent_job_id,
        "cursor": Jsonb(cursor) if cursor is not None else None,
    }
    for _ in range(5):
        cur = await conn.execute(q("enqueue_job"), params)
        row = await cur.fetchone()
        if row:
            return Enqueued(int(row[0]), str(row[1]), int(row[2]), int(row[3]), bool(row[4]))
        # A twin inserted concurrently was invisible to this statement's snapshot; retry.
    raise EnqueueRace(f"could not enqueue or find job for key {json.dumps(params['request_key'])}")


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
    max_attempts: int
    cancel_requested: bool
    resumed: bool


@dataclass(frozen=True)
class Progress:
    """A job's counters after a runner's update."""

    processed: int
    total: int
    cancel_requested: bool


def _backoff() -> dict[str, float]:
    return {"backoff_base": BACKOFF_BASE_SECONDS, "backoff_cap": BACKOFF_CAP_SECONDS}


async def fail_exhausted(conn: AsyncConnection[Any]) -> list[int]:
    """End in error the running jobs whose lease expired on their last attempt."""
    cur = await conn.execute(q("fail_exhausted_jobs"), {})
    return [int(r[0]) for r in await cur.fetchall()]


async def claim_job(
    conn: AsyncConnection[Any], *, owner: str, lease_seconds: float
) -> Claimed | None:
    """Claim the oldest runnable job (queued, or abandoned by a dead runner), or None."""
    params = {"owner": owner, "lease_seconds": lease_seconds, **_backoff()}
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
        cancel_requested=bool(row["cancel_requested"]),
        resumed=row["prev_status"] == "running",
    )


def _progress(row: tuple[Any, ...] | None) -> Progress:
    if row is None:
        raise LeaseLost("the job's lease is no longer ours")
    return Progress(int(row[0]), int(row[1]), bool(row[2]))


async def heartbeat(
    conn: AsyncConnection[Any], *, job_id: int, owner: str, lease_seconds: float
) -> bool:
    """Renew the lease; return whether cancellation was requested. Raise LeaseLost."""
    cur = await conn.execute(
        q("heartbeat_job"), {"job_id": job_id, "owner": owner, "lease_seconds": lease_seconds}
    )
    row = await cur.fetchone()
    if row is None:
        raise LeaseLost(f"job {job_id}: lease lost")
    return bool(row[0])


async def start_job(
    conn: AsyncConnection[Any],
    *,
    job_id: int,
    owner: str,
    lease_seconds: float,
    total: int,
    cursor: dict[str, Any],
) -> Progress:
    """Record the refreshed total and the cursor at the start of a run."""
    cur = await conn.execute(
        q("start_job"),
        {
            "job_id": job_id,
            "owner": owner,
            "lease_seconds": lease_seconds,
            "total": total,
            "cursor": Jsonb(cursor),
        },
    )
    return _progress(await cur.fetchone())


async def record_batch(
    conn: AsyncConnection[Any],
    *,
    job_id: int,
    owner: str,
    lease_seconds: float,
    rows: int,
    cursor: dict[str, Any],
) -> Progress:
    """Add a batch's rows and move the cursor (call inside the batch's transaction)."""
    cur = await conn.execute(
        q("record_batch"),
        {
            "job_id": job_id,
            "owner": owner,
            "lease_seconds": lease_seconds,
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


async def retry_job(conn: AsyncConnection[Any], *, job_id: int, owner: str, error: str) -> str:
    """Requeue an owned job after a transient failure (or end it in error); return the status."""
    cur = await conn.execute(
        q("retry_job"), {"job_id": job_id, "owner": owner, "error": error, **_backoff()}
    )
    row = await cur.fetchone()
    if row is None:
        raise LeaseLost(f"job {job_id}: lease lost before it could be retried")
    return str(row[1])


async def release_job(conn: AsyncConnection[Any], *, job_id: int, owner: str) -> bool:
    """Put an owned job back in the queue (graceful stop); return whether it was ours."""
    cur = await conn.execute(q("release_job"), {"job_id": job_id, "owner": owner})
    return await cur.fetchone() is not None


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


async def overdue_jobs(conn: AsyncConnection[Any], *, before: datetime) -> bool:
    """Return whether live work exists that a fire at ``before`` should have drained."""
    cur = await conn.execute(q("overdue_jobs"), {"before": before})
    row = await cur.fetchone()
    return bool(row and row[0])


async def queue_waiting(conn: AsyncConnection[Any]) -> tuple[int, int]:
    """Return (queued, running) live jobs, whether or not claimable now."""
    cur = await conn.execute(q("queue_waiting"))
    row = await cur.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)
