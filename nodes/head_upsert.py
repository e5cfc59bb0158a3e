"""head_upsert: upsert, enrich and score the search's best companies inside the chat.

The head is the true top ``UPSERT_SYNC_LIMIT`` live companies by the documented score over
every matching registry row (``head_source``), scored into the tenant's saved search for
the code set (created on first use; its id goes to the state as ``search_id``). When the
search message named filters ("in the CBD", "incorporated after 2015", "at least 5
officers"), the head is the top under them (``head_filtered_source``), if that read fits in
half the chat's budget. A minimum score ("only high scores") cannot choose rows before they
are scored: the head's scored rows below it are left out of the table (the head is the true
top by score, so what remains is exactly the best companies reaching it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.runnables import RunnableConfig
from psycopg import AsyncConnection
from psycopg.errors import QueryCanceled

from config.settings import get_settings
from db.companies import FILTER_KEYS, IcpCode, Source, saved_search, upsert_scored
from db.pool import get_pool
from graph.state import CodeMatch, State
from jobs.logs import log_event
from nodes.cards import lead_row
from nodes.context import budget_s, failed_step, tenant_of


def icp_codes(codes: list[CodeMatch]) -> list[IcpCode]:
    """Return the ICP code list the SQL binds, from the state's code matches."""
    return [IcpCode(c["code"], float(c["weight"]), c["term"], c["title"]) for c in codes]


def kept_weights(matches: list[CodeMatch], codes: list[IcpCode]) -> list[CodeMatch]:
    """Return the state's code matches with the weights of ``codes`` (the saved search's)."""
    weight = {c.code: c.weight for c in codes}
    return [{**m, "weight": weight.get(m["code"], m["weight"])} for m in matches]


def head_filters(state: State) -> dict[str, Any]:
    """Return the filters the search message named that narrow its first companies (years,
    postal sectors, entity type, officers, minimum score); {} when none. The head is live
    companies only, whatever the status filter says."""
    given = state.get("filters") or {}
    return {k: v for k, v in given.items() if k in FILTER_KEYS and k != "live" and v is not None}


async def upsert_within(
    conn: AsyncConnection[Any],
    source: Source,
    codes: list[IcpCode],
    *,
    tenant: str,
    search_id: int,
    limit: int,
    filters: dict[str, Any],
    ms: int,
) -> list[dict[str, Any]] | None:
    """Return ``upsert_scored`` from ``source`` run in a savepoint under a statement timeout
    of ``ms``, or None when it outlasted that (the savepoint leaves no trace)."""
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('statement_timeout', %s, true)", (f"{ms}ms",))
            return await upsert_scored(
                conn, source, codes, tenant_id=tenant, search_id=search_id, limit=limit,
                filters=filters,
            )  # fmt: skip
    except QueryCanceled:
        return None


async def _filtered_head(
    conn: AsyncConnection[Any],
    codes: list[IcpCode],
    tenant: str,
    search_id: int,
    limit: int,
    filters: dict[str, Any],
    budget: float,
) -> list[dict[str, Any]] | None:
    """Return the head under the message's filters, or None without filters or when that
    read outlasts half the budget (it reads every live row of the search's codes: a broad
    search on a cold cache); the caller then takes the unfiltered head."""
    if not filters:
        return None
    ms = int(budget * 500)
    rows = await upsert_within(
        conn, "head_filtered_source", codes, tenant=tenant, search_id=search_id, limit=limit,
        filters=filters, ms=ms,
    )  # fmt: skip
    if rows is None:
        log_event("head_filters_slow", stage="chat", filters=filters, ms=ms)
    return rows


async def head_upsert(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Upsert up to UPSERT_SYNC_LIMIT matching companies in one transaction, within a budget."""
    limit = get_settings().upsert_sync_limit
    budget = budget_s()
    try:
        async with asyncio.timeout(budget):
            pool = await get_pool()
            async with pool.connection(timeout=budget) as conn:
                async with conn.transaction():
                    await conn.execute(
                        "SELECT set_config('statement_timeout', %s, true)",
                        (f"{int(budget * 1000)}ms",),
                    )
                    tenant = tenant_of(config)
                    search_id, codes = await saved_search(
                        conn,
                        tenant_id=tenant,
                        terms=state.get("terms", []),
                        codes=icp_codes(state.get("codes", [])),
                    )
                    filters = head_filters(state)
                    least = filters.pop("min_score", None)  # applied to the scored rows
                    most = filters.pop("max_score", None)
                    rows = await _filtered_head(
                        conn, codes, tenant, search_id, limit, filters, budget
                    )
                    filtered = rows is not None or (
                        (least is not None or most is not None) and not filters
                    )
                    if rows is None:
                        rows = await upsert_scored(
                            conn,
                            "head_source",
                            codes,
                            tenant_id=tenant,
                            search_id=search_id,
                            limit=limit,
                        )
    except Exception as exc:  # reported once and told to the user
        error = await failed_step("Scoring the first companies", exc, config, node="head_upsert")
        return {"head": [], "errors": [*state.get("errors", []), error]}
    head = [
        lead_row(r)
        for r in rows
        if not filtered or (least or 0) <= r["score"] <= (100 if most is None else most)
    ]
    return {
        "head": head,
        "shown": [r["company_id"] for r in head],
        "search_id": search_id,
        # The weights the saved search scores with (its first wording's): the pages scored
        # ahead and the job score alike.
        "codes": kept_weights(state.get("codes", []), codes),
        "head_filtered": filtered,
        "head_scored": len(rows),
    }
