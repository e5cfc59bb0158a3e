"""``/jobs``: enqueue a staging upsert, read a job's live progress and when it runs, run a
queued job now, list and cancel jobs.

Every route is scoped to the caller's tenant (another tenant's job is a 404). Invalid
input on these routes is a 400 with a one-line ``detail`` (FastAPI's 422 is converted);
any other failure is logged once and answered by ``api.errors.failure_response``: 503
(with ``Retry-After`` when busy) only when the database is busy or down, else a 500 with
an error id. Each job says when its work happens (``start``, ``runs_at``, ``eta_seconds``,
``when``) from :func:`jobs.timing.job_timings`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import Conn, CurrentTenant
from api.errors import failure_response
from api.pagination import Keyset, scope_of
from config.settings import get_settings
from db.companies import IcpCode, count_matching
from jobs import queue
from jobs.timing import JobTiming, job_timing, job_timings
from nodes.resolve import Resolution

JobStatus = Literal["queued", "running", "done", "error", "cancelled"]
JobStart = Literal["running", "now", "retry", "scheduled", "no_runner", "finished"]
MAX_TERMS = 10
MAX_TERM_CHARS = 60
_BIGINT_MAX = 2**63 - 1


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


def _data_error_detail(exc: psycopg.DataError | UnicodeEncodeError) -> str:
    if isinstance(exc, UnicodeEncodeError):
        return "invalid input: text with unpaired surrogate characters"
    primary = exc.diag.message_primary or str(exc)
    return f"invalid input: {' '.join(primary.split())}"[:300]


def _printable(value: str) -> str:
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("must not contain control characters or unpaired surrogates")
    return value


class JobsRoute(APIRoute):
    """Turn validation errors into 400, and report every unexpected failure once."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler with the error mapping."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return JSONResponse({"detail": _validation_detail(exc)}, status_code=400)
            except (psycopg.DataError, UnicodeEncodeError) as exc:
                # Input the database cannot store (NUL bytes, unpaired surrogates): the
                # request is at fault, not the database.
                return JSONResponse({"detail": _data_error_detail(exc)}, status_code=400)
            except StarletteHTTPException:
                raise  # a deliberate answer (4xx), not a failure
            except Exception as exc:  # 503 busy/down or 500 bug, one log line each
                return await failure_response(request, exc)

        return route


JOBS = Keyset("jobs", {"before": int}, {"before": 2**63 - 1})
"""Jobs newest first: the position is the last job_id seen (the next page has smaller ids)."""

router = APIRouter(prefix="/jobs", tags=["jobs"], route_class=JobsRoute)

Term = Annotated[
    str,
    StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=MAX_TERM_CHARS),
    AfterValidator(_printable),
]


class StagingUpsertRequest(BaseModel):
    """Industries to upsert, enrich and score in the background."""

    model_config = ConfigDict(extra="forbid")
    terms: list[Term] = Field(
        min_length=1,
        max_length=MAX_TERMS,
        description=f"1-{MAX_TERMS} industry terms, each 1-{MAX_TERM_CHARS} characters",
        examples=[["Manufacturing"], ["bakery", "restaurants"]],
    )


class JobEnqueued(BaseModel):
    """The job a request maps to (the existing one when the same request is live)."""

    job_id: int
    status: JobStatus
    total: int = Field(description="matching registry rows the job will process")
    created: bool = Field(description="false when an identical queued/running job was reused")
    resumed_from: int | None = Field(
        default=None,
        description="the unfinished job of the same request whose range this one resumes",
    )
    start: JobStart = Field(description="when the work happens (see GET /jobs/{job_id})")
    runs_at: datetime | None
    when: str


class JobPublic(BaseModel):
    """A background job and its live progress."""

    job_id: int
    job_type: str
    status: JobStatus
    processed: int
    total: int
    error: str | None = Field(description="why the job failed (or the last retried failure)")
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    terms: list[str] = Field(default_factory=list)
    attempts: int = Field(description="failures so far (interruptions after progress excluded)")
    runs: int = Field(description="times a runner took the job")
    cancel_requested: bool
    parent_job_id: int | None = Field(description="the job this one continues")
    next_job_id: int | None = Field(
        description="the follow-up job that continues past UPSERT_MAX_PER_JOB"
    )
    start: JobStart = Field(
        description="running; now (a live runner takes it at once); retry (after a backoff or "
        "a stopped runner's lease); scheduled (the next fire of a live scheduler); no_runner "
        "(no live server or `icp jobs run` will run it); finished"
    )
    runs_at: datetime | None = Field(
        description="when the work starts (started, while running); null when nothing will run it"
    )
    eta_seconds: int | None = Field(
        description="while running: seconds left at the rows per minute measured"
    )
    when: str = Field(description="the same, in words: 'starts now', 'runs at 02:00 tomorrow …'")


class JobsPage(BaseModel):
    """One page of jobs, newest first."""

    data: list[JobPublic]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class ErrorBody(BaseModel):
    """An error with a message for people."""

    detail: str
    error_id: str | None = Field(
        default=None, description="quote it to the operator: it names the failure's log line"
    )


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "invalid input"},
    401: {"model": ErrorBody, "description": "missing, expired or invalid bearer token"},
    500: {"model": ErrorBody, "description": "a bug (logged under error_id)"},
    503: {
        "model": ErrorBody,
        "description": "busy (retry after Retry-After seconds) or database unavailable",
    },
}


def _public(row: dict[str, Any], timing: JobTiming) -> JobPublic:
    """Return the job as the routes show it: its row (other columns ignored) and its timing."""
    params = row.get("params") or {}
    return JobPublic(
        **row,
        terms=[str(t) for t in params.get("terms", [])],
        start=timing.start,
        runs_at=timing.runs_at,
        eta_seconds=timing.eta_seconds,
        when=timing.text,
    )


async def _shown(conn: Any, job_id: int, tenant: str) -> JobPublic:
    row = await queue.get_job(conn, job_id, tenant)
    if row is None:
        raise HTTPException(404, f"no job {job_id}")
    return _public(row, await job_timing(conn, row))


def _job_id(raw: str) -> int:
    # ASCII digits only: str.isdigit() also accepts "²" or "١", which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or int(raw) > _BIGINT_MAX:
        raise HTTPException(404, f"no job {raw}")
    return int(raw)


def _no_codes_detail(terms: list[str], resolution: Resolution) -> str:
    broad = resolution.broad
    if broad:
        words = ", ".join(f"'{t.term}'" for t in broad)
        groups = "; ".join(
            dict.fromkeys(f"{g.title} ({g.code})" for t in broad for g in t.options[:8])
        )
        return f"{words} is too broad to search; name an industry, e.g. one of: {groups}"
    quoted = ", ".join(f"'{t}'" for t in terms)
    return f"{quoted} matched no SSIC 2020 industry"


@router.post("/staging_upsert", status_code=202, response_model=JobEnqueued, responses=ERRORS)
async def enqueue_staging_upsert(
    body: StagingUpsertRequest, tenant: CurrentTenant, conn: Conn
) -> JobEnqueued:
    """Queue the upsert of every registry company matching the terms (idempotent).

    The terms are understood as the chat understands a message (``nodes.resolve``): a term
    of only generic words ("services") is too broad and, like a term matching nothing, is
    a 400 naming what to ask for instead.
    """
    from jobs.queue import enqueue_staging_upsert as enqueue
    from nodes.resolve import understand_terms

    async with conn.transaction():
        understood = await understand_terms(conn, body.terms)
        resolution = understood.resolution
        if not resolution.codes:
            raise HTTPException(400, _no_codes_detail(body.terms, resolution))
        codes = [IcpCode(h.code, h.weight, h.term, h.title) for h in resolution.codes]
        total, _live = await count_matching(conn, [c.code for c in codes])
        job = await enqueue(
            conn,
            tenant_id=tenant,
            terms=understood.terms,
            codes=codes,
            total=total,
            max_attempts=get_settings().job_max_attempts,
        )
    shown = await _shown(conn, job.job_id, tenant)
    return JobEnqueued(
        job_id=job.job_id,
        total=job.total,
        created=job.created,
        resumed_from=job.resumed_from,
        **shown.model_dump(include={"status", "start", "runs_at", "when"}),
    )


@router.get("", response_model=JobsPage, responses=ERRORS)
async def list_jobs(
    tenant: CurrentTenant,
    conn: Conn,
    status: Annotated[JobStatus | None, Query(description="only jobs in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor")] = None,
) -> JobsPage:
    """List the tenant's jobs, newest first, keyset-paged."""
    scope = scope_of(tenant, status=status)
    before = int(JOBS.after_or_400(cursor, scope)["before"])
    rows = await queue.list_jobs(
        conn, tenant_id=tenant, status=status, before=before, limit=limit + 1
    )
    page, next_cursor = JOBS.page(rows, limit, scope, key=lambda r: {"before": r["job_id"]})
    timings = await job_timings(conn, page)
    return JobsPage(
        data=[_public(r, t) for r, t in zip(page, timings, strict=True)], next_cursor=next_cursor
    )


NO_JOB: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": ErrorBody, "description": "no such job"},
}


def _change_responses(conflict: str) -> dict[int | str, dict[str, Any]]:
    """Return the responses of a change to a job: NO_JOB's, and a 409 saying ``conflict``."""
    return {**NO_JOB, 409: {"model": ErrorBody, "description": conflict}}


@router.get("/{job_id}", response_model=JobPublic, responses=NO_JOB)
async def get_job(job_id: str, tenant: CurrentTenant, conn: Conn) -> JobPublic:
    """Return a job with its live processed/total and when its work happens."""
    return await _shown(conn, _job_id(job_id), tenant)


@router.post(
    "/{job_id}/cancel",
    response_model=JobPublic,
    responses=_change_responses("the job already ended"),
)
async def cancel_job(job_id: str, tenant: CurrentTenant, conn: Conn) -> JobPublic:
    """Cancel a queued job now, or stop a running one at its next batch."""
    return await _change(conn, job_id, tenant, queue.cancel_job)


@router.post(
    "/{job_id}/run",
    status_code=202,
    response_model=JobPublic,
    responses=_change_responses("the job is already running or ended"),
)
async def run_job_now(job_id: str, tenant: CurrentTenant, conn: Conn) -> JobPublic:
    """Run a queued job now: any live runner (this server's worker) takes it at once."""
    return await _change(conn, job_id, tenant, queue.run_now)


async def _change(
    conn: Any,
    raw_id: str,
    tenant: str,
    change: Callable[[Any, int, str | None], Coroutine[Any, Any, bool]],
) -> JobPublic:
    """Apply a state change to the tenant's job: 404 if unknown, 409 if it does not apply."""
    jid = _job_id(raw_id)
    async with conn.transaction():
        changed = await change(conn, jid, tenant)
        row = await queue.get_job(conn, jid, tenant)
    if row is None:
        raise HTTPException(404, f"no job {raw_id}")
    if not changed:
        running = row["status"] == "running"
        state = "is already running" if running else f"already ended {row['status']}"
        raise HTTPException(409, f"job {jid} {state}")
    return _public(row, await job_timing(conn, row))
