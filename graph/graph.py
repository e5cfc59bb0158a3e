"""Wire the chat graph: normalize -> head_upsert -> enqueue -> respond, or normalize ->
more_leads -> respond for the next page of the active search."""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph

from config.settings import get_settings
from graph.state import InputState, OutputState, State
from nodes.enqueue import enqueue
from nodes.head_upsert import head_upsert
from nodes.more_leads import more_leads
from nodes.normalize import normalize
from nodes.respond import respond


def route_after_normalize(
    state: State,
) -> Literal["head_upsert", "enqueue", "more_leads", "respond"]:
    """Send background-mode requests with codes on to the writes, "more" to the next page;
    everything else answers."""
    if state.get("intent") == "more":
        return "more_leads" if state.get("codes") else "respond"
    if state.get("errors") or not state.get("codes") or state.get("mode") != "background":
        return "respond"
    if not state.get("total"):
        return "respond"
    return "head_upsert" if get_settings().upsert_sync_limit > 0 else "enqueue"


builder = StateGraph(State, input_schema=InputState, output_schema=OutputState)
builder.add_node(normalize)
builder.add_node(head_upsert)
builder.add_node(enqueue)
builder.add_node(more_leads)
builder.add_node(respond)
builder.add_edge(START, "normalize")
builder.add_conditional_edges("normalize", route_after_normalize)
builder.add_edge("head_upsert", "enqueue")
builder.add_edge("enqueue", "respond")
builder.add_edge("more_leads", "respond")
builder.add_edge("respond", END)

graph = builder.compile(name="ICP industry search")
