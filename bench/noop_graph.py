"""A no-op 4-node graph with the product graph's shape: the server's own floor."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph

from graph.state import InputState, State


async def normalize(state: State) -> dict[str, Any]:
    """Do nothing."""
    return {}


async def head_upsert(state: State) -> dict[str, Any]:
    """Do nothing."""
    return {}


async def enqueue(state: State) -> dict[str, Any]:
    """Do nothing."""
    return {}


async def respond(state: State) -> dict[str, Any]:
    """Reply with a constant."""
    return {"messages": [AIMessage(content="ok")]}


builder = StateGraph(State, input_schema=InputState)
for node in (normalize, head_upsert, enqueue, respond):
    builder.add_node(node)
builder.add_edge(START, "normalize")
builder.add_edge("normalize", "head_upsert")
builder.add_edge("head_upsert", "enqueue")
builder.add_edge("enqueue", "respond")
builder.add_edge("respond", END)
graph = builder.compile(name="no-op")
