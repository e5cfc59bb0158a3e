"""Reads behind the chat's explanations (db/queries/followups.sql); nothing here writes.

The leads page itself is :func:`db.companies.scored_leads_page` (one function for the
chat's pages, with the thread's filters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from db.queries import q


async def scored_companies(
    conn: AsyncConnection[Any], *, tenant_id: str, search_id: int, ids: Sequence[int]
) -> list[dict[str, Any]]:
    """Return one saved search's scored companies among ``ids`` (any order)."""
    params = {"tenant_id": tenant_id, "search_id": search_id, "ids": list(ids)}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(q("scored_companies"), params)
        return await cur.fetchall()


async def scored_companies_by_name(
    conn: AsyncConnection[Any],
    *,
    tenant_id: str,
    search_id: int,
    prefix: str,
    limit: int = 5,
) -> list[dict[str, Any]]:
    """Return one saved search's scored companies whose name starts with ``prefix``
    (lowercase), best first."""
    params = {"tenant_id": tenant_id, "search_id": search_id, "prefix": prefix, "limit": limit}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(q("scored_companies_by_name"), params, prepare=False)
        return await cur.fetchall()
