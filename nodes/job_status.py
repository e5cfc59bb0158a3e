"""job_status: how the tenant's background job is doing ("how is my job doing?", "job 12?").

Reads the job (the one named, else the active search's, else the tenant's latest) and says
its live progress and when its work happens (:func:`jobs.timing.job_timing`: running with
an ETA, starts now, the next scheduled run, or that nothing runs it). Another tenant's job
is not found, exactly like a job that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from langchain_core.runnables import RunnableConfig

from graph.state import JobInfo, JobStatus, State
from jobs.queue import get_job, list_jobs
from jobs.timing import JobTiming, job_timing
from nodes.context import budgeted_connection, failed_step, tenant_of
from nodes.reply_table import n, quoted


def status_text(job: Mapping[str, Any], timing: JobTiming) -> str:
    """Return the reply about one job: what it is for, its progress and when it works."""
    job_id, status = int(job["job_id"]), str(job["status"])
    processed, total = int(job["processed"] or 0), int(job["total"] or 0)
    terms = list((job.get("params") or {}).get("terms") or [])
    what = f"Job {job_id}" + (f" ({quoted(terms)})" if terms else "")
    share = f"{n(processed)} of {n(total)} companies processed"
    if total:
        share += f" ({processed * 100 // total} %)"
    nxt = job.get("next_job_id")
    if status == "done":
        text = f"{what} is done: {share}."
        if nxt:
            text += f" The rest continues as job {nxt}; ask \u201cstatus of job {nxt}\u201d."
        return text + " Say \u201cmore\u201d to page through the scored leads."
    if status == "error":
        return f"{what} stopped with an error after {share}: {job.get('error') or 'unknown'}."
    if status == "cancelled":
        return f"{what} was cancelled after {share}. Search again to resume where it stopped."
    return f"{what} {timing.text}; {share}."


def refreshed(info: JobInfo, job: Mapping[str, Any], timing: JobTiming) -> JobInfo:
    """Return the thread's job info with the job's live status and timing."""
    out = JobInfo(**info)
    out["status"] = cast(JobStatus, str(job["status"]))
    out["remaining"] = max(int(job["total"] or 0) - int(job["processed"] or 0), 0)
    out["start"] = timing.start
    out["runs_at"] = timing.runs_at.isoformat() if timing.runs_at else None
    out["eta_seconds"] = timing.eta_seconds
    out["when"] = timing.text
    return out


async def job_status(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Say how the named (or the thread's, or the latest) job of the tenant is doing."""
    tenant = tenant_of(config)
    named = state.get("slots", {}).get("job_id")
    active = state.get("job")
    job_id = named or (active["job_id"] if active else None)
    try:
        async with budgeted_connection() as conn:
            if job_id is not None:
                job = await get_job(conn, int(job_id), tenant)
            else:
                latest = await list_jobs(conn, tenant_id=tenant, limit=1)
                job = latest[0] if latest else None
            timing = await job_timing(conn, job) if job else None
    except Exception as exc:  # reported once and told to the user
        return {"answer": await failed_step("Reading the job", exc, config, node="job_status")}
    if job is None or timing is None:
        if named:
            return {"answer": f"I can't find job {named} in your workspace."}
        return {"answer": "You have no background jobs yet: a search with more companies "
                          "than the chat scores at once queues one."}  # fmt: skip
    update: dict[str, Any] = {"answer": status_text(job, timing)}
    if active and active["job_id"] == job["job_id"]:
        update["job"] = refreshed(active, job, timing)
    return update
