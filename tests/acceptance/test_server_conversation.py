"""A salesperson's conversation through the real server: one thread, 13 turns.

``langgraph dev`` (the product's graph and app, JOBS_START=immediate so the search's job
runs at once) driven with langgraph_sdk as agent-chat-ui does; every reply and the thread
state the server's checkpointer keeps are asserted, and the follow-ups that are not a new
search leave the companies, scores and jobs untouched.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from icp.devserver import start_server
from tests.helpers import written_rows

pytestmark = pytest.mark.acceptance

JURONG = {"Jurong East", "Jurong", "Pioneer", "Tuas", "Jurong West"}


@pytest.fixture
def immediate_server(sample_db: str) -> Iterator[str]:
    srv = start_server(sample_db, {"JOBS_START": "immediate"})
    try:
        yield srv.url
    finally:
        srv.stop()


def wait_done(url: str, job_id: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = httpx.get(f"{url}/jobs/{job_id}", timeout=5).json()
        if job["status"] == "done" or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


async def test_twelve_turn_conversation_on_one_thread(
    immediate_server: str, sample_db: str
) -> None:
    url = immediate_server
    async with get_client(url=url) as client:
        thread = (await client.threads.create())["thread_id"]

        async def say(text: str) -> tuple[str, dict[str, Any]]:
            message = {"type": "human", "content": [{"type": "text", "text": text}]}
            await client.runs.wait(thread, "icp_search", input={"messages": [message]})
            state: Any = await client.threads.get_state(thread)
            values: dict[str, Any] = state["values"]
            last = values["messages"][-1]
            assert last["type"] == "ai"
            return str(last["content"]), values

        # 1. A new search: head scored now, the rest queued and run at once.
        text, st = await say("Manufacturing")
        assert st["intent"] == "search" and st["terms"] == ["manufacturing"]
        assert "1,659 companies" in text and len(st["head"]) == 10 and st["job"]
        job_id = st["job"]["job_id"]
        assert wait_done(url, job_id)["status"] == "done"
        before = written_rows(sample_db)

        # 2. More: the next 20 of what is now scored, none shown before.
        text, st = await say("show me 20 more")
        assert st["intent"] == "more" and len(st["page"]) == 20 and len(st["shown"]) == 30
        assert "11\u201330" in text and st["page"][0]["uen"] in text
        assert not {r["company_id"] for r in st["page"]} & {r["company_id"] for r in st["head"]}

        # 3. Live only: the first page under the filter, named in the reply.
        text, st = await say("only live companies")
        assert st["intent"] == "refine" and st["filters"] == {"live": True}
        assert all(r["is_live"] for r in st["page"]) and "**Filters:** live only." in text

        # 4. In Jurong: combined with live only; the table shows the area, not the address.
        text, st = await say("in Jurong")
        assert st["filters"]["live"] is True and st["filters"]["places"] == ["jurong"]
        assert st["page"] and all(r["area"] in JURONG and r["is_live"] for r in st["page"])
        assert "live only; in Jurong (postal sectors 60\u201364)" in text
        assert f"| {st['page'][0]['area']} |" in text and "Singapore 6" not in text
        first = st["page"][0]

        # 5. Next 5 under the same filters.
        text, st = await say("next 5")
        assert len(st["page"]) == 5 and all(r["area"] in JURONG for r in st["page"])
        assert "11\u201315" in text

        # 6. Explain the first one of the filtered list.
        text, st = await say(f"why is the first one scored {first['score']}?")
        assert st["intent"] == "explain" and first["name"] in text
        assert f"scored **{first['score']}**" in text and "\n- Live\n" in text

        # 7. Job status: done, with its counts.
        text, st = await say("how is my job doing?")
        assert st["intent"] == "job_status" and f"Job {job_id}" in text
        assert "is done" in text and "1,659 of 1,659" in text and st["job"]["status"] == "done"

        # 8. Another tenant's or a missing job is not found.
        text, st = await say("status of job 999")
        assert "can't find job 999" in text
        assert written_rows(sample_db) == before  # turns 2-8 wrote nothing

        # 9. Switch industry: a new search, filters cleared, a new job.
        text, st = await say("what about bakeries instead?")
        assert st["intent"] == "search" and st["terms"] == ["bakeries"] and st["filters"] == {}
        assert text.startswith("Switched to \u201cbakeries\u201d (was \u201cmanufacturing\u201d)")
        assert st["job"]["job_id"] != job_id and len(st["head"]) == 10

        # 10. Add an industry.
        text, st = await say("also logistics")
        assert st["terms"] == ["bakeries", "logistics"] and "Added \u201clogistics\u201d" in text

        # 11. Drop it again.
        text, st = await say("drop logistics")
        assert st["terms"] == ["bakeries"] and "now searching \u201cbakeries\u201d" in text

        # 12. Back to the first industry.
        text, st = await say("back to manufacturing")
        assert st["terms"] == ["manufacturing"] and st["total"] == 1659
        assert text.startswith("Back to \u201cmanufacturing\u201d") and st["head"]
        after_search = written_rows(sample_db)

        # 13. Small talk keeps the search and writes nothing.
        text, st = await say("thanks!")
        assert st["intent"] == "chat" and st["terms"] == ["manufacturing"] and text
        assert written_rows(sample_db) == after_search
        assert len(st["messages"]) == 26  # 13 questions, 13 answers on one thread
