"""Coordination of registry loads with the job runner: one advisory lock, two modes.

A load changes ``staging_acra_companies`` and ``staging_ssic_counts`` in one publishing
transaction (a table swap or a merge). A job's walk needs the registry to stay put from
its first count to its final recount, or it would end in ``error`` ("the registry changed
during the run"). So:

* the loader takes the lock **exclusively** inside its publishing transaction
  (:func:`lock_for_load`): two loads publish one after the other, each recounting what
  the other committed, so the per-code counts stay exact;
* a runner holds it **shared** for one job's walk (:func:`registry_stable`), so a load
  publishes between jobs, never during one. The runner polls with ``pg_try_...`` in short
  transactions instead of blocking in a statement, so its connections' statement and lock
  timeouts never fire while it waits; a waiting load is queued in PostgreSQL's lock
  manager, so later try-locks fail until it has published (runners cannot starve it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import AsyncConnection

REGISTRY_LOCK_KEY = 0x1C9_0002  # pg_advisory_lock key of the registry (0x1C9_0001: migrations)
POLL_SECONDS = 0.2


def lock_for_load(conn: psycopg.Connection) -> None:
    """Take the registry lock exclusively until the current transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (REGISTRY_LOCK_KEY,))


def mark_changed(conn: psycopg.Connection) -> None:
    """Record, in the load's publishing transaction, that staging rows changed now (a
    finished job of a repeated search is reused only when it ended after this)."""
    conn.execute("UPDATE registry_changed SET changed_at = clock_timestamp()")


@asynccontextmanager
async def registry_stable(conn: AsyncConnection[Any]) -> AsyncIterator[None]:
    """Hold the registry lock shared on ``conn`` (session level) while the block runs.

    Waits, polling, while a load publishes. On exit the lock is released; if that fails
    (the connection broke or is in a failed state) the connection is closed so the pool
    never hands out a session that still holds it.
    """
    while True:
        async with conn.transaction():
            cur = await conn.execute("SELECT pg_try_advisory_lock_shared(%s)", (REGISTRY_LOCK_KEY,))
            row = await cur.fetchone()
        if row and row[0]:
            break
        await asyncio.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_unlock_shared(%s)", (REGISTRY_LOCK_KEY,))
        except psycopg.Error:
            await conn.close()
