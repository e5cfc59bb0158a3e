"""more_leads: the next page of the active search's scored leads ("more", "next 20")."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from db.companies import scored_leads_page
from graph.state import State
from nodes.cards import lead_row
from nodes.context import budgeted_connection, failed_step, tenant_of
from nodes.terms import MORE_PAGE, latest_human_text, more_request


async def more_leads(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Read the best scored companies of the search not shown yet in this thread.

    Only what is already scored is paged (the head and what the search's job has
    processed); nothing is written, so asking for more never queues work.
    """
    size = more_request(latest_human_text(state.get("messages", []))) or MORE_PAGE
    shown = state.get("shown", [])
    try:
        async with budgeted_connection() as conn:
            rows = await scored_leads_page(
                conn,
                tenant_id=tenant_of(config),
                search_id=int(state.get("search_id") or 0),
                shown=shown,
                limit=size,
            )
    except Exception as exc:  # reported once and told to the user
        error = await failed_step("Reading more leads", exc, config, node="more_leads")
        return {"page": [], "errors": [error]}
    page = [lead_row(r) for r in rows]
    return {"page": page, "shown": [*shown, *(r["company_id"] for r in page)]}
