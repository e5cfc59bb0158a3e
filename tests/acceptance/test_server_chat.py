"""Drive the LangGraph server exactly as agent-chat-ui does."""

from __future__ import annotations

import httpx
import pytest
from langgraph_sdk import get_client

pytestmark = pytest.mark.acceptance

MANUFACTURING = {
    "messages": [{"type": "human", "content": [{"type": "text", "text": "Manufacturing"}]}]
}


async def test_chat_through_server_like_agent_chat_ui(server: str) -> None:
    async with get_client(url=server) as client:
        thread = await client.threads.create()
        events: list[str] = []
        async for chunk in client.runs.stream(
            thread["thread_id"],
            "icp_search",
            input=MANUFACTURING,
            stream_mode=["values", "messages-tuple", "custom"],
        ):
            events.append(chunk.event)
            assert chunk.event != "error", chunk.data
        assert "values" in events
        state = await client.threads.get_state(thread["thread_id"])
        last = state["values"]["messages"][-1]
        assert last["type"] == "ai"
        assert "1,659" in last["content"] and "job" in last["content"]
        assert state["values"]["job"]["total"] == 1659
        found = await client.threads.search(metadata={"graph_id": "icp_search"})
        assert thread["thread_id"] in {t["thread_id"] for t in found}


async def test_custom_routes_and_schemas(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as http:
        assert (await http.get("/icp/health")).json() == {"status": "ok"}
        assert (await http.get("/ok")).status_code == 200
        # The server keeps /openapi.json; the custom app documents itself under /icp.
        assert "/threads" in (await http.get("/openapi.json")).json()["paths"]
        assert "/jobs/{job_id}" in (await http.get("/icp/openapi.json")).json()["paths"]
    async with get_client(url=server) as client:
        assistants = await client.assistants.search(graph_id="icp_search")
        assert assistants
        schemas = await client.assistants.get_schemas(assistants[0]["assistant_id"])
        assert set(schemas["input_schema"]["properties"]) == {"messages"}
        assert {"terms", "codes", "job", "head"} <= set(schemas["output_schema"]["properties"])
