"""Hostile input through the real LangGraph server: never a 500, never a crash in our code.

Input that is not a conversation fails the *run* with LangGraph's/langchain's own clear
error (``/runs/wait`` answers 200 with ``__error__``, as for any failed run; the thread
stays usable); a body that is not JSON is the server's 422; our routes answer 4xx. Our
nodes never appear in a traceback in the server log, and nothing is written.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from icp.devserver import DevServer, start_server
from tests.helpers import written_rows

pytestmark = pytest.mark.acceptance

RUN_ERRORS: dict[str, Any] = {
    "number-message": {"messages": [1]},
    "none-message": {"messages": [None]},
    "none-messages": {"messages": None},
    "nested-lists": {"messages": [{"type": "human", "content": [[["bakery"]]]}]},
    "unknown-role": {"messages": [{"type": "martian", "content": "bakery"}]},
    "string-input": "Manufacturing",
    "list-input": [1, 2],
}
REPLIES: dict[str, Any] = {
    "missing-messages": {},
    "ai-only": {"messages": [{"type": "ai", "content": "Manufacturing"}]},
    "image-only": {
        "messages": [
            {"type": "human", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
        ]
    },
    "nul-and-sql": {"messages": [{"type": "human", "content": "'; DROP TABLE x; --\u0000"}]},
    "10k": {"messages": [{"type": "human", "content": "x" * 10_000}]},
    "1000-terms": {
        "messages": [{"type": "human", "content": ", ".join(f"zzq{i}" for i in range(1000))}]
    },
}


@pytest.fixture
def dev(sample_db: str) -> Iterator[DevServer]:
    srv = start_server(sample_db)
    try:
        yield srv
    finally:
        srv.stop()


async def test_hostile_runs_and_bodies(dev: DevServer, sample_db: str) -> None:
    async with httpx.AsyncClient(base_url=dev.url, timeout=60) as http:
        found = (await http.post("/assistants/search", json={"graph_id": "icp_search"})).json()
        assistant = found[0]["assistant_id"]
        thread = (await http.post("/threads", json={})).json()["thread_id"]

        async def run(name: str, graph_input: Any) -> tuple[str, httpx.Response]:
            path = f"/threads/{thread}/runs/wait" if name == "number-message" else "/runs/wait"
            body = {"assistant_id": assistant, "input": graph_input}
            return name, await http.post(path, json=body)

        # Independent runs in parallel (the server runs DEFAULT_JOBS at once): keeps the test short.
        results = await asyncio.gather(
            *(run(n, i) for n, i in RUN_ERRORS.items()), *(run(n, i) for n, i in REPLIES.items())
        )
        for name, r in results:
            assert r.status_code == 200, (name, r.status_code, r.text[:300])
            if name in RUN_ERRORS:
                error = r.json().get("__error__")
                assert error and error["error"] and error["message"].strip(), (name, r.text)
            else:
                last = r.json()["messages"][-1]
                assert last["type"] == "ai" and "industry" in last["content"].lower(), (name, last)

        # Not JSON at all, or no input: the server's own 4xx / run error, never a 500.
        r = await http.post(
            "/runs/wait", content=b"{", headers={"content-type": "application/json"}
        )
        assert r.status_code == 422, r.text
        surrogate = b'{"assistant_id": "%s", "input": {"messages": ["\\ud800"]}}' % (
            assistant.encode()
        )
        r = await http.post(
            "/runs/wait", content=surrogate, headers={"content-type": "application/json"}
        )
        assert 400 <= r.status_code < 500 or "__error__" in r.json(), r.text
        r = await http.post("/runs/wait", json={"assistant_id": assistant})
        assert r.status_code < 500 and "__error__" in r.json(), r.text

        # The custom routes, through the server's middleware (auth, CORS): 4xx with a detail.
        for content in (b"{", json.dumps({"terms": [f"t{i}" for i in range(1000)]}).encode()):
            r = await http.post(
                "/jobs/staging_upsert",
                content=content,
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 400 and r.json()["detail"], r.text
        assert (await http.get("/jobs/%C2%B2")).status_code == 404
        assert (await http.get("/jobs", params={"cursor": "x" * 600})).status_code == 400

        assert written_rows(sample_db) == (0, 0, 0)

        # The thread that saw a failed run still chats.
        r = await http.post(
            f"/threads/{thread}/runs/wait",
            json={
                "assistant_id": assistant,
                "input": {"messages": [{"type": "human", "content": "bakery"}]},
            },
        )
        assert r.status_code == 200 and "Bakery" in r.json()["messages"][-1]["content"], r.text

    log = dev.log.read_text(errors="replace")
    assert "/nodes/" not in log and "/graph/graph.py" not in log, log[-3000:]
    assert " 500 " not in log and "Internal Server Error" not in log, log[-3000:]
