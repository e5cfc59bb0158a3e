"""One place that decides what a failure means and logs it once: routes, nodes, runner.

Every exception that a route, a chat node or the runner does not expect goes through
:func:`report_failure`, which classifies it, writes exactly one JSON line on the
``icp.errors`` logger (with the request, run or job id the caller passes) and returns a
:class:`Failure` the caller turns into its answer:

* ``busy`` - every pooled connection is in use and the queue for one is full or its wait
  timed out (or the database reported contention: serialization failure, deadlock, lock
  timeout, too many connections) while PostgreSQL is healthy. Routes answer 503 with
  ``Retry-After``; the chat says it is busy.
* ``slow`` - a step ran past its time budget while PostgreSQL answers and the pool is
  not full. Routes answer 503 with ``Retry-After``; the chat says the step took too long.
* ``unavailable`` - PostgreSQL does not answer (connection refused or lost, shut down).
  503, "the database is unavailable".
* ``bug`` - anything else (a programming error, bad SQL, a constraint we did not expect).
  500 with an error id; the line carries the traceback, the answer never does.

A full pool and a stopped database both surface as a timeout waiting for a connection;
:func:`db.pool.database_reachable` (one shared probe) tells them apart.
"""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import PoolClosed, PoolTimeout, TooManyRequests

from db.pool import database_reachable, pool_saturated

logger = logging.getLogger("icp.errors")

Kind = Literal["busy", "slow", "unavailable", "bug"]

RETRY_AFTER_S = {"busy": 1, "slow": 2, "unavailable": 5}
"""What ``Retry-After`` routes send for each kind that is worth retrying."""

_CONTENTION = (
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
    pg_errors.TooManyConnections,
)
_DOWN = (
    pg_errors.AdminShutdown,
    pg_errors.CrashShutdown,
    pg_errors.CannotConnectNow,
    pg_errors.ConnectionException,
    pg_errors.DiskFull,
    pg_errors.OutOfMemory,
    PoolClosed,
    OSError,  # ConnectionError and socket errors included
)


@dataclass(frozen=True)
class Failure:
    """What the caller tells its user about a failure it reported."""

    kind: Kind
    error_id: str
    message: str
    """One user-safe line: no exception text, no stack trace."""

    @property
    def status(self) -> int:
        """Return the HTTP status a route answers with."""
        return 500 if self.kind == "bug" else 503

    @property
    def retry_after(self) -> int | None:
        """Return the seconds a client should wait before retrying (None: do not retry)."""
        return RETRY_AFTER_S.get(self.kind)


async def classify(exc: BaseException) -> Kind:
    """Return what an exception means for the caller (see the module docstring)."""
    if isinstance(exc, PoolTimeout | TooManyRequests | TimeoutError | pg_errors.QueryCanceled):
        # Waited for a connection (or was refused a place in the queue for one) or ran a
        # statement past a budget: full pool, slow step, or a database that does not
        # answer at all (its callers pile up in the pool's queue too).
        if not await database_reachable():
            return "unavailable"
        if isinstance(exc, PoolTimeout | TooManyRequests) or pool_saturated():
            return "busy"
        return "slow"
    if isinstance(exc, _CONTENTION):
        return "busy"
    if isinstance(exc, _DOWN):
        return "unavailable"
    if isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None:
        return "unavailable"  # a lost connection carries no SQLSTATE
    return "bug"


def message_for(kind: Kind, error_id: str) -> str:
    """Return the one-line, user-safe description of a failure of this kind."""
    if kind == "busy":
        return "the service is busy right now; please retry in a moment"
    if kind == "slow":
        return "the database did not answer within the time budget; please retry"
    if kind == "unavailable":
        return "the database is unavailable; please try again shortly"
    return f"an internal error occurred (error id {error_id})"


def describe(exc: BaseException) -> str:
    """Return ``Type: message`` on one line (also the reason a failed job keeps)."""
    primary = exc.diag.message_primary if isinstance(exc, psycopg.Error) else None
    text = " ".join((primary or str(exc)).split()) or "no message"
    return f"{type(exc).__name__}: {text}"[:1000]


async def report_failure(exc: BaseException, *, stage: str, **ids: Any) -> Failure:
    """Classify ``exc``, log it as exactly one JSON line, and return what to answer.

    ``stage`` says where it happened (``http``, ``chat``, ``runner``); ``ids`` identify
    the request, run or job (request_id, path, node, run_id, thread_id, job_id, tenant).
    """
    kind = await classify(exc)
    error_id = uuid.uuid4().hex[:12]
    line: dict[str, Any] = {
        "stage": stage,
        "event": "error",
        "kind": kind,
        "error_id": error_id,
        **{k: v for k, v in ids.items() if v is not None},
        "error": describe(exc),
    }
    if kind == "bug":
        line["traceback"] = "".join(traceback.format_exception(exc)).rstrip()
    level = logging.ERROR if kind == "bug" else logging.WARNING
    logger.log(level, json.dumps(line, default=str))
    return Failure(kind=kind, error_id=error_id, message=message_for(kind, error_id))


def run_ids(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the run, thread and request ids of a graph run's config (those present)."""
    configurable: Mapping[str, Any] = (config or {}).get("configurable") or {}
    metadata: Mapping[str, Any] = (config or {}).get("metadata") or {}
    return {
        "run_id": configurable.get("run_id") or metadata.get("run_id"),
        "thread_id": configurable.get("thread_id") or metadata.get("thread_id"),
        "request_id": configurable.get("langgraph_request_id"),
    }
