"""Reads behind the chat's explanations (db/queries/followups.sql); nothing here writes.

The leads page itself is :func:`db.companies.scored_leads_page` (one function for the
chat's pages, with the thread's filters).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from db.companies import lead_filter_params
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


async def tenant_search(
    conn: AsyncConnection[Any], *, tenant_id: str, search_id: int
) -> dict[str, Any] | None:
    """Return one of the tenant's saved searches (id, terms, codes), None if not its own."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(q("tenant_search"), {"tenant_id": tenant_id, "search_id": search_id})
        return await cur.fetchone()


EXPORT_CHUNK = 1000
"""Rows per statement of a file export (each one short keyset walk)."""


async def search_leads_chunks(
    conn: AsyncConnection[Any],
    *,
    tenant_id: str,
    search_id: int,
    filters: Mapping[str, Any] | None = None,
    chunk: int = EXPORT_CHUNK,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield one saved search's scored leads best first, in chunks, under ``filters``
    (``db.companies.lead_filter_params``; a missing or None one does not filter: ``live``
    True live only, False no longer live, None any status). Run it inside a repeatable-read
    transaction for one snapshot."""
    params: dict[str, Any] = {
        **lead_filter_params(filters),
        "tenant_id": tenant_id,
        "search_id": search_id,
        "limit": chunk,
        "score": 32767,
        "company_id": 0,
    }
    async with conn.cursor(row_factory=dict_row) as cur:
        while True:
            # Unprepared: a filter bound NULL folds away only in a plan made for the values.
            await cur.execute(q("search_leads_export"), params, prepare=False)
            rows = await cur.fetchall()
            if rows:
                yield rows
            if len(rows) < chunk:
                return
            params |= {"score": rows[-1]["score"], "company_id": rows[-1]["company_id"]}
