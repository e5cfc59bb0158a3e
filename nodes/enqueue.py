"""enqueue: queue the rest of the request as one idempotent background job, and say when."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from langchain_core.runnables import RunnableConfig

from config.settings import get_settings
from db.companies import saved_search
from db.pool import autocommit, get_pool
from graph.state import JobInfo, JobStatus, State
from jobs.queue import enqueue_staging_upsert, get_job
from jobs.timing import job_timing
from nodes.context import budget_s, failed_step, tenant_of
from nodes.head_upsert import icp_codes


async def enqueue(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Queue a staging_upsert job for the matching rows (or return the identical live job).

    The job info says when its work happens (:func:`jobs.timing.job_timing`), read after
    the enqueue committed: under JOBS_START=immediate a worker may already be running it.
    """
    total = int(state.get("total") or 0)
    done = max(int(state.get("head_scored") or 0), len(state.get("head", [])))
    if total <= done or not state.get("codes"):  # nothing left beyond the head
        return {"job": None}
    try:
        async with asyncio.timeout(budget_s()):
            pool = await get_pool()
            async with pool.connection(timeout=budget_s()) as conn:
                # The writes are explicit transactions; the job's read after them needs no
                # BEGIN/COMMIT round trips of its own.
                await autocommit(conn)
                codes, terms = icp_codes(state.get("codes", [])), state.get("terms", [])
                search_id = state.get("search_id")
                if search_id is None:  # no head step (UPSERT_SYNC_LIMIT=0): find the search
                    async with conn.transaction():  # scored with the search's kept weights
                        search_id, codes = await saved_search(
                            conn, tenant_id=tenant_of(config), terms=terms, codes=codes
                        )
                job = await enqueue_staging_upsert(
                    conn,
                    tenant_id=tenant_of(config),
                    terms=terms,
                    codes=codes,
                    total=total,
                    max_attempts=get_settings().job_max_attempts,
                    search_id=search_id,
                )
                row = await get_job(conn, job.job_id, None)
                timing = await job_timing(conn, row) if row else None
    except Exception as exc:  # reported once and told to the user
        error = await failed_step("Queueing the rest", exc, config, node="enqueue")
        return {"job": None, "errors": [*state.get("errors", []), error]}
    info = JobInfo(
        job_id=job.job_id,
        status=cast(JobStatus, str(row["status"]) if row else job.status),
        total=job.total,
        remaining=max(min(total - done, job.total - job.processed), 0),
        created=job.created,
        resumed_from=job.resumed_from,
    )
    if timing is not None:
        info["start"] = timing.start
        info["runs_at"] = timing.runs_at.isoformat() if timing.runs_at else None
        info["eta_seconds"] = timing.eta_seconds
        info["when"] = timing.text
    return {"job": info, "search_id": search_id}
