"""head_upsert: upsert, enrich and score the search's best companies inside the chat.

The head is the true top ``UPSERT_SYNC_LIMIT`` live companies by the documented score over
every matching registry row (``head_source``), scored into the tenant's saved search for
the code set (created on first use; its id goes to the state as ``search_id``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.runnables import RunnableConfig

from config.settings import get_settings
from db.companies import IcpCode, ensure_search, upsert_scored
from db.pool import get_pool
from graph.state import CodeMatch, State
from nodes.cards import lead_row
from nodes.context import budget_s, failed_step, tenant_of


def icp_codes(codes: list[CodeMatch]) -> list[IcpCode]:
    """Return the ICP code list the SQL binds, from the state's code matches."""
    return [IcpCode(c["code"], float(c["weight"]), c["term"], c["title"]) for c in codes]


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
                    codes = icp_codes(state.get("codes", []))
                    tenant = tenant_of(config)
                    search_id = await ensure_search(
                        conn, tenant_id=tenant, terms=state.get("terms", []), codes=codes
                    )
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
    head = [lead_row(r) for r in rows]
    return {"head": head, "shown": [r["company_id"] for r in head], "search_id": search_id}
