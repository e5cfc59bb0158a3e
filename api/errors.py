"""The HTTP answer to a failure the routes did not expect (one helper for every route).

:func:`failure_response` reports the exception through ``jobs.failures.report_failure``
(exactly one JSON log line, with the request id) and answers:

* 503 with ``Retry-After`` when the service is busy or a step was too slow (retry soon),
* 503 "the database is unavailable" when PostgreSQL does not answer,
* 500 with an ``error_id`` for a bug; the body never carries exception text or a trace.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import JSONResponse

from jobs.failures import report_failure


def request_id(request: Request) -> str:
    """Return the request's ``X-Request-Id`` (the server sets one on its routes), else a new one."""
    return request.headers.get("x-request-id") or uuid.uuid4().hex[:16]


async def failure_response(request: Request, exc: BaseException, **body: str) -> JSONResponse:
    """Report an unexpected exception once and return the route's answer (``body`` added)."""
    failure = await report_failure(
        exc,
        stage="http",
        method=request.method,
        path=request.url.path,
        request_id=request_id(request),
    )
    headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else None
    return JSONResponse(
        {**body, "detail": failure.message, "error_id": failure.error_id},
        status_code=failure.status,
        headers=headers,
    )
