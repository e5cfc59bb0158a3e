"""Wire the chat graph: route reads what the message asks; a new (or changed) search takes
normalize -> head_upsert -> enqueue -> respond, and every follow-up on the active search
takes its own node (more_leads, refine, job_status, explain, small_talk) -> respond."""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph

from config.settings import get_settings
from graph.state import InputState, OutputState, State
from nodes.enqueue import enqueue
from nodes.explain import explain
from nodes.follow_up import refine, small_talk
from nodes.head_upsert import head_upsert
from nodes.job_status import job_status
from nodes.more_leads import more_leads
from nodes.normalize import normalize
from nodes.respond import respond
from nodes.route import route, route_after_route


def route_after_normalize(state: State) -> Literal["head_upsert", "enqueue", "respond"]:
    """Send background-mode requests with codes on to the writes; everything else answers."""
    if state.get("errors") or not state.get("codes") or state.get("mode") != "background":
        return "respond"
    if not state.get("total"):
        return "respond"
    return "head_upsert" if get_settings().upsert_sync_limit > 0 else "enqueue"


builder = StateGraph(State, input_schema=InputState, output_schema=OutputState)
builder.add_node(route)
builder.add_node(normalize)
builder.add_node(head_upsert)
builder.add_node(enqueue)
builder.add_node(more_leads)
builder.add_node(refine)
builder.add_node(job_status)
builder.add_node(explain)
builder.add_node(small_talk)
builder.add_node(respond)
builder.add_edge(START, "route")
builder.add_conditional_edges("route", route_after_route)
builder.add_conditional_edges("normalize", route_after_normalize)
builder.add_edge("head_upsert", "enqueue")
builder.add_edge("enqueue", "respond")
for follow_up in ("more_leads", "refine", "job_status", "explain", "small_talk"):
    builder.add_edge(follow_up, "respond")
builder.add_edge("respond", END)

graph = builder.compile(name="ICP industry search")
