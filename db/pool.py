"""The process's async connection pools, opened lazily or by a lifespan.

The LangGraph server runs the custom app's lifespan and the graph's nodes on one
event loop, so both share the ``app`` pool. A plain script (or a test) that invokes the
graph without the server gets the same pool opened on first use. A pool belongs to
the event loop that opened it (its workers are tasks of that loop): a second
``asyncio.run`` in the same process gets a new pool instead of one whose workers died
with the first loop.

The pool holds at most ``ICP_DB_POOL_MAX`` connections. When every one is in use, at
most ``QUEUE_PER_CONNECTION`` callers per connection wait for one (each up to its own
timeout); beyond that a caller is refused at once (``psycopg_pool.TooManyRequests``), so
a burst far beyond the pool gets quick "busy, retry" answers instead of a long queue on a
saturated event loop. :func:`database_reachable` tells a full pool (busy) from a
database that does not answer (down) when a wait times out.

The job runner has its own small ``runner`` pool: its sessions carry the statement, lock
and idle-in-transaction timeouts of the settings (``ICP_JOB_*_TIMEOUT_MS``), so a hung
runner's open transaction is ended by the server and its locks freed, and a runner never
waits forever on a lock; and chats and runners never wait for each other's connections.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any, Literal

import psycopg
from psycopg_pool import AsyncConnectionPool

from config.settings import get_settings

PoolKind = Literal["app", "runner"]
RUNNER_POOL_SIZE = 4
"""The walk, its heartbeat, the worker's claims and its keep-alive: one job at a time."""

_pools: dict[PoolKind, AsyncConnectionPool[Any]] = {}
_pool_loop: asyncio.AbstractEventLoop | None = None
_lock: asyncio.Lock | None = None
_lock_loop: asyncio.AbstractEventLoop | None = None

QUEUE_PER_CONNECTION = 5
"""Callers that may wait for a connection, per connection of the pool."""
PROBE_CONNECT_TIMEOUT_S = 5
"""libpq's connect_timeout of a reachability probe (a stopped server refuses at once)."""
PROBE_TTL_S = 2.0
"""How long a finished probe's answer is reused: under overload one probe serves all."""
_probe: tuple[asyncio.AbstractEventLoop, asyncio.Task[bool], float] | None = None


def resolve_database_url() -> str:
    """Return ``DATABASE_URL``, or start the embedded server and return its URL (blocking)."""
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    from db.embedded import embedded_url

    return embedded_url(settings.data_dir)


async def aresolve_database_url() -> str:
    """Resolve the database URL without blocking the event loop."""
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    return await asyncio.to_thread(resolve_database_url)


def runner_session_options() -> str:
    """Return the libpq ``options`` that set the runner's timeouts on each session."""
    s = get_settings()
    return (
        f"-c statement_timeout={s.job_statement_timeout_ms}"
        f" -c lock_timeout={s.job_lock_timeout_ms}"
        f" -c idle_in_transaction_session_timeout={s.job_idle_tx_timeout_ms}"
    )


def make_pool(
    conninfo: str, *, min_size: int = 1, max_size: int | None = None, kind: PoolKind = "app"
) -> AsyncConnectionPool[Any]:
    """Build a closed pool of at most ``max_size`` connections (ICP_DB_POOL_MAX for the app
    pool, :data:`RUNNER_POOL_SIZE` for the runner's)."""
    kwargs: dict[str, Any] = {"application_name": "icp"}
    if kind == "runner":
        kwargs = {"application_name": "icp-runner", "options": runner_session_options()}
    max_size = max_size or (RUNNER_POOL_SIZE if kind == "runner" else get_settings().db_pool_max)
    return AsyncConnectionPool(
        conninfo,
        open=False,
        min_size=min_size,
        max_size=max_size,
        max_waiting=QUEUE_PER_CONNECTION * max_size,
        check=check_connection,
        reset=_note_returned,
        kwargs=kwargs,
        timeout=10.0,
        name=f"icp-{kind}",
    )


CHECK_BYPASS_S = 0.5
"""A connection handed back to the pool less than this long ago is lent again without the
pool's check (an empty query: one round trip per borrow, several per chat): it has just
answered. One idle longer is checked as before, so a restarted server's dead connections
are still found and replaced (HikariCP's ``aliveBypassWindowMs`` is the same idea)."""
_returned_at: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


async def _note_returned(conn: psycopg.AsyncConnection[Any]) -> None:
    """The pool's ``reset`` hook: restore the session defaults a borrower may have changed
    (:func:`autocommit`, a read-only ``BEGIN``) and remember when the connection came back
    in a clean state."""
    if conn.autocommit:
        await conn.set_autocommit(False)
    if conn.read_only is not None:
        await conn.set_read_only(None)
    _returned_at[conn] = time.monotonic()


async def autocommit(conn: psycopg.AsyncConnection[Any]) -> psycopg.AsyncConnection[Any]:
    """Put a pooled connection, idle, in autocommit mode until it goes back to the pool.

    For a borrower whose statements are independent reads (or explicit ``transaction()``
    blocks): no implicit ``BEGIN`` and ``COMMIT`` round trips around them. The pool's
    ``reset`` hook turns autocommit off again, so the next borrower gets the default.
    """
    await conn.set_autocommit(True)
    return conn


async def check_connection(conn: psycopg.AsyncConnection[Any]) -> None:
    """The pool's ``check`` hook: skip the round trip for a connection just handed back."""
    returned = _returned_at.get(conn)
    if returned is not None and time.monotonic() - returned < CHECK_BYPASS_S and not conn.broken:
        return
    await AsyncConnectionPool.check_connection(conn)


def _loop_lock(loop: asyncio.AbstractEventLoop) -> asyncio.Lock:
    """Return the lock that serialises opening the pool on ``loop`` (one per loop)."""
    global _lock, _lock_loop
    if _lock is None or _lock_loop is not loop:
        _lock, _lock_loop = asyncio.Lock(), loop
    return _lock


def _current(kind: PoolKind, loop: asyncio.AbstractEventLoop) -> AsyncConnectionPool[Any] | None:
    pool = _pools.get(kind)
    return pool if pool is not None and _pool_loop is loop and not pool.closed else None


async def get_pool(kind: PoolKind = "app") -> AsyncConnectionPool[Any]:
    """Return the process's pool of that kind, opening it on first use in this event loop."""
    global _pool_loop
    loop = asyncio.get_running_loop()
    if (pool := _current(kind, loop)) is not None:
        return pool
    async with _loop_lock(loop):
        if (pool := _current(kind, loop)) is not None:
            return pool
        if _pool_loop is not loop:
            # Pools of another (finished) loop are dropped, not reused: their worker tasks
            # and connections belonged to that loop and cannot serve, nor be closed from,
            # this one.
            _pools.clear()
        pool = make_pool(await aresolve_database_url(), kind=kind)
        await pool.open(wait=False)
        _pools[kind], _pool_loop = pool, loop
        return pool


async def reset_pool(kind: PoolKind) -> None:
    """Drop the pool of that kind (the next ``get_pool`` opens a fresh one).

    After an outage a pool reconnects with its own doubling backoff (up to minutes); a
    caller that has just seen the database answer again resets it to connect at once.
    """
    pool = _pools.pop(kind, None)
    if pool is not None and not pool.closed and _pool_loop is asyncio.get_running_loop():
        await pool.close(timeout=1.0)


async def close_pool() -> None:
    """Close the process's pools (lifespan shutdown, end of a CLI command)."""
    global _pool_loop
    pools = list(_pools.values())
    _pools.clear()
    loop, _pool_loop = _pool_loop, None
    for pool in pools:
        if not pool.closed and loop is asyncio.get_running_loop():
            await pool.close()


def pool_saturated() -> bool:
    """Return whether this loop's app pool has every connection in use and callers waiting."""
    pool = _current("app", asyncio.get_running_loop())
    if pool is None:
        return False
    stats = pool.get_stats()
    return stats.get("pool_available", 0) == 0 and (
        stats.get("requests_waiting", 0) > 0 or stats.get("pool_size", 0) >= pool.max_size
    )


_FULL_SERVER = ("too many clients", "too many connections", "remaining connection slots")
"""PostgreSQL's refusals when every server connection is taken: up, but full (busy)."""


async def _probe_once() -> bool:
    try:
        conn = await psycopg.AsyncConnection.connect(
            await aresolve_database_url(),
            connect_timeout=PROBE_CONNECT_TIMEOUT_S,
            application_name="icp-probe",
        )
    except psycopg.errors.TooManyConnections:
        return True
    except (psycopg.Error, OSError) as exc:
        return any(text in str(exc) for text in _FULL_SERVER)
    try:
        await conn.execute("SELECT 1")
        return True
    except (psycopg.Error, OSError):
        return False
    finally:
        await conn.close()


async def database_reachable() -> bool:
    """Return whether PostgreSQL accepts a new connection now, outside the pool.

    One probe runs at a time and its answer is reused for ``PROBE_TTL_S`` after it
    finished, so a burst of requests that all timed out waiting for the pool costs the
    database one connection. The probe is judged by its own result only (a stopped server
    refuses at once; silence counts as down after libpq's connect timeout), never by how
    long it waited for a saturated event loop.
    """
    global _probe
    loop = asyncio.get_running_loop()
    if _probe is not None and _probe[0] is loop:
        _loop, task, finished = _probe
        if not task.done() or time.monotonic() - finished <= PROBE_TTL_S:
            return await asyncio.shield(task)
    task = loop.create_task(_probe_once(), name="icp-db-probe")
    _probe = (loop, task, float("inf"))

    def _finished(done: asyncio.Task[bool]) -> None:
        global _probe
        if _probe is not None and _probe[1] is done:
            _probe = (loop, done, time.monotonic())

    task.add_done_callback(_finished)
    return await asyncio.shield(task)
