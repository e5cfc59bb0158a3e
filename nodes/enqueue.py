"""enqueue: queue the rest of the request as one idempotent background job."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from langchain_core.runnables import RunnableConfig

from config.settings import get_settings
from db.pool import get_pool
from graph.state import JobInfo, JobStatus, State
from jobs.queue import enqueue_staging_upsert
from nodes.context import budget_s, failed_step, tenant_of
from nodes.head_upsert import icp_codes


async def enqueue(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Queue a staging_upsert job for the matching rows (or return the identical live job)."""
    total = int(state.get("total") or 0)
    done = len(state.get("head", []))
    if total <= done or not state.get("codes"):  # nothing left beyond the head
        return {"job": None}
    try:
        async with asyncio.timeout(budget_s()):
            pool = await get_pool()
            async with pool.connection(timeout=budget_s()) as conn:
                job = await enqueue_staging_upsert(
                    conn,
                    tenant_id=tenant_of(config),
                    terms=state.get("terms", []),
                    codes=icp_codes(state.get("codes", [])),
                    total=total,
                    max_attempts=get_settings().job_max_attempts,
                )
    except Exception as exc:  # reported once and told to the user
        error = await failed_step("Queueing the rest", exc, config, node="enqueue")
        return {"job": None, "errors": [*state.get("errors", []), error]}
    info = JobInfo(
        job_id=job.job_id,
        status=cast(JobStatus, job.status),
        total=job.total,
        remaining=max(total - done, 0),
        created=job.created,
    )
    return {"job": info}
