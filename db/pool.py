"""The process's one async connection pool, opened lazily or by a lifespan.

The LangGraph server runs the custom app's lifespan and the graph's nodes on one
event loop, so both share this pool. A plain script (or a test) that invokes the
graph without the server gets the same pool opened on first use.
"""

from __future__ import annotations

import asyncio
from typing import Any

from psycopg_pool import AsyncConnectionPool

from config.settings import get_settings

_pool: AsyncConnectionPool[Any] | None = None
_pool_loop: asyncio.AbstractEventLoop | None = None
_lock: asyncio.Lock | None = None


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


def make_pool(conninfo: str, *, min_size: int = 1, max_size: int = 10) -> AsyncConnectionPool[Any]:
    """Build a closed pool; the caller opens it."""
    return AsyncConnectionPool(
        conninfo,
        open=False,
        min_size=min_size,
        max_size=max_size,
        check=AsyncConnectionPool.check_connection,
        kwargs={"application_name": "icp"},
        timeout=10.0,
        name="icp",
    )


async def get_pool() -> AsyncConnectionPool[Any]:
    """Return the process's pool, opening it on first use in this event loop."""
    global _pool, _pool_loop, _lock
    loop = asyncio.get_running_loop()
    if _pool is not None and _pool_loop is loop and not _pool.closed:
        return _pool
    if _lock is None or _pool_loop is not loop:
        _lock = asyncio.Lock()
        _pool_loop = loop
    async with _lock:
        if _pool is not None and not _pool.closed and _pool_loop is loop:
            return _pool
        if _pool is not None and _pool_loop is not loop:
            _pool = None  # a pool bound to a finished loop cannot be reused or closed here
        pool = make_pool(await aresolve_database_url())
        await pool.open(wait=False)
        _pool = pool
        _pool_loop = loop
        return pool


async def close_pool() -> None:
    """Close the process's pool (lifespan shutdown, end of a CLI command)."""
    global _pool
    pool, _pool = _pool, None
    if pool is not None and not pool.closed:
        await pool.close()
