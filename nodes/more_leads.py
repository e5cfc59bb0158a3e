"""more_leads: the next page of the active search's scored leads ("more", "next 20")."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from graph.state import State
from nodes.follow_up import leads_page
from nodes.terms import MORE_PAGE


async def more_leads(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Read the best scored companies of the search not shown yet in this thread, under the
    thread's filters.

    Only what is already scored is paged (the head and what the search's job has
    processed); nothing is written, so asking for more never queues work.
    """
    if not state.get("codes"):
        return {"page": []}
    size = int(state.get("slots", {}).get("count") or MORE_PAGE)
    return await leads_page(state, config, shown=state.get("shown", []), size=size,
                            node="more_leads")  # fmt: skip
