"""more_leads: the next page of the active search's scored leads ("more", "next 20")."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from graph.state import State
from nodes.follow_up import leads_page
from nodes.terms import MORE_PAGE


async def more_leads(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Show the search's next best companies not shown yet in this thread, under the
    thread's filters.

    While the search's job has not scored every match, the page first scores the best ones
    down to its last place (``nodes.follow_up.score_ahead``), so "more" gives the next best
    of the whole registry at once, even with the job queued for tonight; asking for more
    never queues work.
    """
    if not state.get("codes"):
        return {"page": []}
    size = int(state.get("slots", {}).get("count") or MORE_PAGE)
    return await leads_page(state, config, shown=state.get("shown", []), size=size,
                            node="more_leads")  # fmt: skip
