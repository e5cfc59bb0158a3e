"""The process's one async connection pool, opened lazily or by a lifespan.

The LangGraph server runs the custom app's lifespan and the graph's nodes on one
event loop, so both share this pool. A plain script (or a test) that invokes the
graph without the server gets the same pool opened on first use. A pool belongs to
the event loop that opened it (its workers are tasks of that loop): a second
``asyncio.run`` in the same process gets a new pool instead of one whose workers died
with the first loop.

The pool holds at most ``ICP_DB_POOL_MAX`` connections. When every one is in use, a
caller waits for one up to its own timeout; :func:`database_reachable` then tells a
full pool (busy: retry) from a database that does not answer (down).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from config.settings import get_settings

_pool: AsyncConnectionPool[Any] | None = None
_pool_loop: asyncio.AbstractEventLoop | None = None
_lock: asyncio.Lock | None = None
_lock_loop: asyncio.AbstractEventLoop | None = None

PROBE_TIMEOUT_S = 1.0
"""How long a reachability probe waits for PostgreSQL to accept a new connection."""
PROBE_TTL_S = 2.0
"""How long a probe's answer is reused: under overload one probe serves every request."""
_probe: tuple[asyncio.AbstractEventLoop, float, asyncio.Task[bool]] | None = None


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


def make_pool(
    conninfo: str, *, min_size: int = 1, max_size: int | None = None
) -> AsyncConnectionPool[Any]:
    """Build a closed pool of at most ``max_size`` (default ICP_DB_POOL_MAX) connections."""
    return AsyncConnectionPool(
        conninfo,
        open=False,
        min_size=min_size,
        max_size=max_size or get_settings().db_pool_max,
        check=AsyncConnectionPool.check_connection,
        kwargs={"application_name": "icp"},
        timeout=10.0,
        name="icp",
    )


def _loop_lock(loop: asyncio.AbstractEventLoop) -> asyncio.Lock:
    """Return the lock that serialises opening the pool on ``loop`` (one per loop)."""
    global _lock, _lock_loop
    if _lock is None or _lock_loop is not loop:
        _lock, _lock_loop = asyncio.Lock(), loop
    return _lock


async def get_pool() -> AsyncConnectionPool[Any]:
    """Return the process's pool, opening it on first use in this event loop."""
    global _pool, _pool_loop
    loop = asyncio.get_running_loop()
    if _pool is not None and _pool_loop is loop and not _pool.closed:
        return _pool
    async with _loop_lock(loop):
        if _pool is not None and _pool_loop is loop and not _pool.closed:
            return _pool
        # A pool of another (finished) loop is dropped, not reused: its worker tasks and
        # connections belonged to that loop and cannot serve, nor be closed from, this one.
        pool = make_pool(await aresolve_database_url())
        await pool.open(wait=False)
        _pool, _pool_loop = pool, loop
        return pool


async def close_pool() -> None:
    """Close the process's pool (lifespan shutdown, end of a CLI command)."""
    global _pool, _pool_loop
    pool, _pool = _pool, None
    loop, _pool_loop = _pool_loop, None
    if pool is not None and not pool.closed and loop is asyncio.get_running_loop():
        await pool.close()


def pool_saturated() -> bool:
    """Return whether this loop's pool has every connection in use and callers waiting."""
    pool = _pool
    if pool is None or pool.closed or _pool_loop is not asyncio.get_running_loop():
        return False
    stats = pool.get_stats()
    return stats.get("pool_available", 0) == 0 and (
        stats.get("requests_waiting", 0) > 0 or stats.get("pool_size", 0) >= pool.max_size
    )


async def _probe_once() -> bool:
    try:
        conn = await psycopg.AsyncConnection.connect(
            await aresolve_database_url(),
            connect_timeout=2,
            application_name="icp-probe",
        )
    except (psycopg.Error, OSError):
        return False
    try:
        await conn.execute("SELECT 1")
        return True
    except (psycopg.Error, OSError):
        return False
    finally:
        await conn.close()


async def database_reachable() -> bool:
    """Return whether PostgreSQL accepts a new connection now, outside the pool.

    One probe runs at a time and its answer is reused for ``PROBE_TTL_S``, so a burst of
    requests that all timed out waiting for the pool costs the database one connection.
    A probe that takes longer than ``PROBE_TIMEOUT_S`` counts as unreachable.
    """
    global _probe
    loop = asyncio.get_running_loop()
    now = time.monotonic()
    if _probe is None or _probe[0] is not loop or now - _probe[1] > PROBE_TTL_S:
        _probe = (loop, now, loop.create_task(_probe_once(), name="icp-db-probe"))
    task = _probe[2]
    try:
        return await asyncio.wait_for(asyncio.shield(task), PROBE_TIMEOUT_S)
    except TimeoutError:
        return False
