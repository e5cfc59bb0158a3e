"""head_upsert: upsert, enrich and score the first few matching companies inside the chat."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.runnables import RunnableConfig

from config.settings import get_settings
from db.companies import IcpCode, upsert_scored
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
                    rows = await upsert_scored(
                        conn,
                        "head_source",
                        icp_codes(state.get("codes", [])),
                        tenant_id=tenant_of(config),
                        limit=limit,
                    )
    except Exception as exc:  # reported once and told to the user
        error = await failed_step("Scoring the first companies", exc, config, node="head_upsert")
        return {"head": [], "errors": [*state.get("errors", []), error]}
    head = [lead_row(r) for r in rows]
    return {"head": head, "shown": [r["company_id"] for r in head]}
