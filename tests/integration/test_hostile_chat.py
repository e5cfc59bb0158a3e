"""Hostile input everywhere: the chat graph, resolution and the custom routes never crash.

Every hostile chat input gets either a clear reply (an AIMessage) or, for input that is
not a conversation at all, a clean validation error raised by LangGraph/langchain's message
coercion before any of our nodes runs (the server turns it into a failed run, see
tests/acceptance/test_hostile_server.py). Nothing is written for rejected input. The custom
routes answer hostile requests with a 4xx and a one-line ``detail``, and write nothing.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from api.app import app
from api.pagination import encode_cursor, scope_of
from graph.graph import graph
from nodes.resolve import MAX_TERMS, resolve_terms
from tests.helpers import written_rows

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
OUR_CODE = tuple(str(ROOT / pkg) for pkg in ("nodes", "graph", "db", "jobs", "api", "icp"))
HELP_WORDS = ("industry", "couldn't match")


def human(content: Any) -> dict[str, Any]:
    return {"type": "human", "content": content}


class Failures:
    """Per-case failures of a corpus run in one test (one database per corpus, not per case)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def check(self, case: Any, ok: object, detail: Any = "") -> None:
        if not ok:
            self.items.append(f"{repr(case)[:80]}: {repr(detail)[:300]}")

    def __bool__(self) -> bool:
        return bool(self.items)

    def __str__(self) -> str:
        return "\n".join(self.items)


def reply_of(out: dict[str, Any]) -> str:
    last = out["messages"][-1]
    assert isinstance(last, AIMessage)
    assert isinstance(last.content, str) and last.content.strip()
    return last.content


# ---------------------------------------------------------------- chat: clear replies

SQL = [
    "'; DROP TABLE companies; --",
    "1=1 OR",
    "' OR '1'='1",
    "Robert'); DROP TABLE lead_scores;--",
    "%' UNION SELECT * FROM companies --",
    "$$; SELECT pg_sleep(10); $$",
    "zzq:* & !(x | y) <-> z",  # tsquery syntax
]
CONTROL = [
    "\x00" * 100,
    "bak\x00ery\x00",
    "\x1b[31mzzq\x1b[0m",
    "\x07\x08\x0b\x0c\x7f\x85",
    "\ufeff",
]
UNICODE = [
    "🍞🥖🏭",
    "👨\u200d👩\u200d👧\u200d👦",
    "\u202egnirutcafunam\u202c",  # RTL override
    "\u0645\u0635\u0646\u0639",  # Arabic
    "\u05de\u05e4\u05e2\u05dc, \u05de\u05d0\u05e4\u05d9\u05d9\u05d4",  # Hebrew, comma-separated
    "\u200b\u200b\u200b",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a",
    "\U0001d58e\U0001d586\U0001d593",  # mathematical letters (NFKC: "xyz"-like)
]
BIG = [
    "x" * 10_000,
    "zzq " * 2_500,
    ", ".join(f"zzq{i}" for i in range(1_000)),
    "\n".join(["?"] * 5_000),
    "(" * 10_000,
    "\\" * 10_000,
]
CONTENT: list[Any] = [
    [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}],
    [{"type": "image", "source_type": "base64", "data": "AAAA", "mime_type": "image/png"}],
    [{"type": "file", "data": "Manufacturing"}],
    [{"type": "weird", "text": "Manufacturing"}, {"type": "tool_use", "input": {"q": "bakery"}}],
    [{"type": "text", "text": None}, {"type": "text"}, {}],
    [],
    "",
    None,
]


async def test_hostile_messages_get_a_clear_reply_and_write_nothing(app_db: str) -> None:
    failures = Failures()
    for content in [*SQL, *CONTROL, *UNICODE, *BIG, *CONTENT]:
        start = time.perf_counter()
        out = await graph.ainvoke({"messages": [human(content)]})  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        text = reply_of(out)
        failures.check(content, elapsed < 3, f"took {elapsed:.1f}s")
        failures.check(content, any(w in text.lower() for w in HELP_WORDS), text)
        failures.check(content, not (out["codes"] or out["head"] or out["job"]), out["codes"])
        failures.check(content, len(out["terms"]) <= MAX_TERMS, out["terms"])
        bad = [t for t in out["terms"] if not 2 <= len(t) <= 60 or "\x00" in t]
        failures.check(content, not bad, bad)
        failures.check(content, written_rows(app_db) == (0, 0, 0), written_rows(app_db))
    assert not failures, str(failures)


NO_HUMAN: list[list[Any]] = [
    [{"type": "ai", "content": "Manufacturing"}],
    [SystemMessage("Manufacturing")],
    [ToolMessage("Manufacturing", tool_call_id="t1")],
    [{"role": "assistant", "content": "bakery"}, {"role": "system", "content": "bakery"}],
    [HumanMessage("thanks"), {"type": "ai", "content": "Manufacturing"}],
]
NO_CONVERSATION: list[dict[str, Any]] = [
    {},
    {"messages": []},
    {"messages": "hello"},
    {"unknown": 1},
    {"messages": [], "terms": ["x"]},
]


async def test_no_human_request_gets_help(app_db: str) -> None:
    # No human message (only ai/system/tool), or no conversation at all: LangGraph does
    # not require ``messages``, so the graph runs and answers with the help text.
    failures = Failures()
    inputs = [*({"messages": m} for m in NO_HUMAN), *NO_CONVERSATION]
    for graph_input in inputs:
        out = await graph.ainvoke(graph_input)  # type: ignore[arg-type]
        failures.check(graph_input, "industry" in reply_of(out).lower(), reply_of(out))
        failures.check(graph_input, out.get("terms") == [], out.get("terms"))
        failures.check(graph_input, written_rows(app_db) == (0, 0, 0), written_rows(app_db))
    assert not failures, str(failures)


NOT_MESSAGES: list[dict[str, Any]] = [
    {"messages": [1]},
    {"messages": [None]},
    {"messages": None},
    {"messages": [{"type": "human"}]},  # no content
    {"messages": [{"type": "martian", "content": "bakery"}]},
    {"messages": [human(5)]},
    {"messages": [human([[[{"type": "text", "text": "bakery"}]]])]},  # lists in lists
    {"messages": [[{"type": "human", "content": "bakery"}]]},
    {"messages": [("alien", "bakery")]},
]


async def test_non_messages_are_a_clean_validation_error(app_db: str) -> None:
    # Not a conversation at all: langchain's message coercion (add_messages) refuses it
    # before any node runs. That is the 4xx of an in-process call; nothing is written.
    failures = Failures()
    for graph_input in NOT_MESSAGES:
        try:
            await graph.ainvoke(graph_input)  # type: ignore[arg-type]
        except (ValueError, TypeError, NotImplementedError) as exc:
            failures.check(graph_input, str(exc).strip(), exc)
            frames = traceback.extract_tb(exc.__traceback__)
            ours = [f"{f.filename}:{f.lineno}" for f in frames if f.filename.startswith(OUR_CODE)]
            failures.check(graph_input, not ours, f"raised from our code: {ours}")
        else:
            failures.check(graph_input, False, "accepted")
        failures.check(graph_input, written_rows(app_db) == (0, 0, 0), written_rows(app_db))
    assert not failures, str(failures)


async def test_hostile_tenant_ids_are_ignored(app_db: str) -> None:
    # Auth off: a client-supplied tenant id that is not printable text of sane length is
    # ignored like a missing one ("\ud800" used to raise UnicodeEncodeError in normalize).
    failures = Failures()
    for tenant in ("\x00", "\ud800", "x" * 10_000, "a\nb", 42, None, ["acme"]):
        config = {"configurable": {"tenant_id": tenant}}
        out = await graph.ainvoke({"messages": [human("bakery")]}, config)  # type: ignore[arg-type]
        failures.check(tenant, out["errors"] == [], out["errors"])
        failures.check(tenant, len(out["head"]) == 10 and out["job"], reply_of(out))
    assert not failures, str(failures)
    with psycopg.connect(app_db) as conn:
        tenants = conn.execute("SELECT DISTINCT tenant_id FROM lead_scores").fetchall()
    assert tenants == [("default",)]


async def test_sql_around_an_industry_is_just_text(app_db: str) -> None:
    text = "manufacturing') OR 1=1 --; DROP TABLE companies; x:* & !y"
    out = await graph.ainvoke({"messages": [human(text)]})  # type: ignore[arg-type]
    assert out["terms"][0] == "manufacturing" and out["total"] == 1659
    assert "1,659" in reply_of(out)
    assert written_rows(app_db) == (10, 10, 1)  # the tables are all still there


async def test_industry_among_junk_does_bounded_work(app_db: str) -> None:
    # 1,000 terms: only the first 10 are read; the real one among them still works.
    text = ", ".join(["bakery", *(f"zzq{i}" for i in range(999))])
    start = time.perf_counter()
    out = await graph.ainvoke({"messages": [human(text + " " + "x" * 10_000)]})  # type: ignore[arg-type]
    assert time.perf_counter() - start < 5
    assert out["terms"][0] == "bakery" and len(out["terms"]) == MAX_TERMS
    assert {c["term"] for c in out["codes"]} == {"bakery"}
    assert len(out["head"]) == 10 and out["job"] is not None
    assert "bakery" in reply_of(out).lower()
    assert written_rows(app_db) == (10, 10, 1)


# ---------------------------------------------------------------- resolution


@pytest.fixture
async def subclass_codes(empty_db: str) -> AsyncIterator[frozenset[str]]:
    with psycopg.connect(empty_db) as conn:
        rows = conn.execute("SELECT code FROM ssic_ref WHERE level = 'subclass'").fetchall()
    yield frozenset(r[0] for r in rows)


TERM = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["bakery", "Manufacturing", "10", "0", "00000", "99999", "it", "f&b", ""]),
    st.text(alphabet="0123456789", min_size=1, max_size=6),
    st.text(alphabet="&|!():*<>'\\ -", max_size=12),  # tsquery operators
)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(terms=st.lists(TERM, max_size=MAX_TERMS))
async def test_resolve_any_terms(
    empty_db: str, subclass_codes: frozenset[str], terms: list[str]
) -> None:
    # Read-only: each example opens its own connection, so no example sees another's state.
    async with await psycopg.AsyncConnection.connect(empty_db) as conn:
        resolution = await resolve_terms(conn, terms)
    assert len(resolution.terms) <= MAX_TERMS
    for hit in resolution.codes:
        assert len(hit.code) == 5 and hit.code.isascii() and hit.code.isdigit()
        assert hit.code in subclass_codes
        assert 0 < hit.weight <= 1
    assert resolution.code_list == sorted({h.code for h in resolution.codes})
    json.dumps(resolution.summary())  # JSON-able for the graph state


# ---------------------------------------------------------------- custom routes


@pytest.fixture
async def client(app_db: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://icp.test") as c:
        yield c


def _clear_4xx(response: httpx.Response, *codes: int) -> bool:
    """Whether a response is the expected 4xx with a short one-line ``detail``."""
    if response.status_code not in (codes or (400,)):
        return False
    body = response.json()
    if not isinstance(body, dict) or set(body) != {"detail"}:
        return False
    detail = body["detail"]
    return (
        isinstance(detail, str)
        and bool(detail.strip())
        and len(detail) < 600
        and "Traceback" not in detail
    )


JSON_BODIES: list[Any] = [
    {"terms": [f"t{i}" for i in range(1_000)]},
    {"terms": ["x" * 10_000]},
    {"terms": ["bakery", "x" * 61]},
    {"terms": "bakery"},
    {"terms": [1, 2]},
    {"terms": [["bakery"]]},
    {"terms": [{"text": "bakery"}]},
    {"terms": None},
    {"terms": []},
    {"terms": [""]},
    {"terms": ["   "]},
    {"terms": ["bakery\x00"]},
    {"terms": ["\x00"]},
    {"terms": ["bak\u0085ery"]},
    {"terms": ["bakery"], "tenant_id": "other"},
    {"terms": ["bakery"], "codes": ["10711"]},
    {},
    [],
    ["bakery"],
    "bakery",
    None,
    0,
    {"terms": ["'; DROP TABLE companies; --"]},
    {"terms": ["zzq"]},
]


RAW_BODIES: list[tuple[bytes, str]] = [
    (b"{", "application/json"),
    (b"", "application/json"),
    (b'{"terms": ["bakery"]', "application/json"),
    (b'{"terms": ["\\ud800"]}', "application/json"),  # unpaired surrogate escape
    (b'{"terms": ["bakery"]}\x00', "application/json"),
    (b"\xff\xfe\x00b\x00a", "application/json"),
    (b'{"terms": ["bak\xffery"]}', "application/json"),
    (b'{"terms": ["bakery"]}', "text/plain"),
    (b"terms=bakery", "application/x-www-form-urlencoded"),
    (b"[" * 5_000 + b"]" * 5_000, "application/json"),
    (b'{"terms": ["' + b"a" * 2_000_000 + b'"]}', "application/json"),
]


async def test_staging_upsert_rejects_hostile_bodies(
    client: httpx.AsyncClient, app_db: str
) -> None:
    failures = Failures()
    bodies = [(json.dumps(b).encode(), "application/json") for b in JSON_BODIES]
    for content, content_type in [*bodies, *RAW_BODIES]:
        response = await client.post(
            "/jobs/staging_upsert", content=content, headers={"content-type": content_type}
        )
        failures.check(content[:60], _clear_4xx(response), (response.status_code, response.text))
    assert not failures, str(failures)
    assert written_rows(app_db) == (0, 0, 0)


async def test_nul_in_a_term_is_a_400_not_a_503(client: httpx.AsyncClient, app_db: str) -> None:
    # Regression: "bakery\x00" resolved (the NUL is cleaned for matching), then storing the
    # raw term in the job's JSONB failed and the route answered 503 "database unavailable".
    response = await client.post("/jobs/staging_upsert", json={"terms": ["bakery\x00"]})
    assert _clear_4xx(response) and "control characters" in response.json()["detail"]
    assert written_rows(app_db) == (0, 0, 0)


BAD_LIST_PARAMS: list[dict[str, str]] = [
    {"cursor": "abc"},
    {"cursor": "a.b"},
    {"cursor": "."},
    {"cursor": "\x00"},
    {"cursor": "\u00e9.\u00e9"},
    {"cursor": "x" * 600},
    {"cursor": encode_cursor("leads", {"score": 1, "company_id": 1})},
    {"cursor": encode_cursor("jobs", {"before": "1"})},
    {"cursor": encode_cursor("jobs", {"before": 1}, scope=scope_of("someone-else"))},
    {"limit": "0"},
    {"limit": "-1"},
    {"limit": "201"},
    {"limit": "abc"},
    {"limit": "1e3"},
    {"limit": str(10**30)},
    {"limit": "\x00"},
    {"status": "bogus"},
    {"status": "QUEUED"},
    {"status": "queued'--"},
    {"status": "\x00"},
]


async def test_list_jobs_rejects_bad_parameters(client: httpx.AsyncClient, app_db: str) -> None:
    failures = Failures()
    for params in BAD_LIST_PARAMS:
        response = await client.get("/jobs", params=params)
        named = _clear_4xx(response) and next(iter(params)) in response.json()["detail"]
        failures.check(params, named, (response.status_code, response.text))
    assert not failures, str(failures)
    assert written_rows(app_db) == (0, 0, 0)


BAD_JOB_IDS = [
    "abc",
    "\u00b2",
    "\u0661",
    "-1",
    "1.5",
    "99999999999999999999",
    "9223372036854775808",
    "%00",
    "1",
]


async def test_job_routes_answer_404_for_bad_ids(client: httpx.AsyncClient, app_db: str) -> None:
    # "²" passed str.isdigit() and int() raised: a 500 that schemathesis found.
    failures = Failures()
    for job_id in BAD_JOB_IDS:
        for response in (
            await client.get(f"/jobs/{job_id}"),
            await client.post(f"/jobs/{job_id}/cancel"),
        ):
            failures.check(job_id, _clear_4xx(response, 404), (response.status_code, response.text))
    assert not failures, str(failures)
    assert written_rows(app_db) == (0, 0, 0)
