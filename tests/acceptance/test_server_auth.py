"""Auth and tenancy on the real server (``langgraph dev`` with ``ICP_AUTH_JWT_SECRET`` set).

* Tokens: missing, forged, expired, without ``exp``, without ``tenant_id`` or living too
  long are a 401, on the server's API, the custom routes and the covered meta routes.
* Open endpoints: every route of the server (its OpenAPI, the meta routes, the page) is
  called without a token; the ones that answer are exactly ``api.auth.OPEN_ENDPOINTS``
  and exactly the README's table.
* Cross-tenant matrix: tenant A creates a thread, runs, an assistant, a cron, store
  items, a job and scored leads, each carrying a secret marker; tenant B then tries
  every read, write and run on them (also through /mcp and /a2a) and the custom routes.
  Every attempt must fail or come back without A's data, no response to B may contain
  A's marker, and A must still see all of its own (so "B saw nothing" is not "nothing
  was there").
* A secret shorter than 32 bytes stops start-up with one line naming the variable.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest

from api.auth import OPEN_ENDPOINTS
from icp.devserver import DevServer, start_server

pytestmark = pytest.mark.acceptance
ROOT = Path(__file__).resolve().parents[2]
SECRET = "acceptance-secret-0123456789abcdef"


def token(tenant: str | None, sub: str | None = "alice", **claims: Any) -> str:
    body: dict[str, Any] = {"exp": int(time.time()) + 600}
    if sub is not None:
        body["sub"] = sub
    if tenant is not None:
        body["tenant_id"] = tenant
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, SECRET, algorithm="HS256")


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


@pytest.fixture(scope="module")
def secured(pg_server: Any) -> Iterator[tuple[DevServer, str]]:
    """One auth-on server for the module, on its own copy of the sample database."""
    name = pg_server.clone("sample")
    url = pg_server.url(name)
    srv = start_server(url, {"ICP_AUTH_JWT_SECRET": SECRET})
    try:
        yield srv, url
    finally:
        srv.stop()
        pg_server.drop(name)


# --------------------------------------------------------------------------- tokens


async def test_bad_tokens_are_401_everywhere(secured: tuple[DevServer, str]) -> None:
    srv, _ = secured
    now = int(time.time())
    forged = jwt.encode(
        {"sub": "x", "tenant_id": "a", "exp": now + 600},
        "wrong-secret-wrong-secret-wrong-secret",
        algorithm="HS256",
    )
    cases: dict[str, dict[str, str]] = {
        "missing bearer token": {},
        "invalid token": bearer(forged),
        "token expired": bearer(token("a", exp=now - 120)),
        "token has no exp claim": bearer(token("a", exp=None)),
        "token has no tenant_id": bearer(token(None)),
        "token has no sub claim": bearer(token("a", sub=None)),
        "token lifetime too long: exp is more than 86400 s ahead": bearer(
            token("a", exp=now + 10 * 86_400)
        ),
    }
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
        # The page loads without a token; it asks for one itself.
        page = await http.get("/app/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        for detail, headers in cases.items():
            for method, path in (
                ("POST", "/threads/search"),
                ("GET", "/leads"),
                ("GET", "/metrics"),
                ("POST", "/store/items/search"),
            ):
                for extra in ({}, {"x-auth-scheme": "langsmith"}):
                    res = await http.request(method, path, json={}, headers={**headers, **extra})
                    assert res.status_code == 401, (detail, path, res.text)
                    assert res.json()["detail"] == detail, (path, res.text)
        good = bearer(token("tenant-a"))
        assert (await http.get("/leads", headers=good)).status_code == 200
        assert (await http.get("/metrics", headers=good)).status_code == 200


# --------------------------------------------------------------------------- open endpoints


def readme_open_endpoints() -> set[tuple[str, str]]:
    """Return the (method, path pattern) rows of the README's open-endpoint table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Auth and tenants", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(GET|POST|PUT|PATCH|DELETE) ([^`]+)` \|", section, re.MULTILINE)
    assert rows, "the README's auth section has no open-endpoint table"
    return set(rows)


def matches(pattern: str, path: str) -> bool:
    return path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern


PARAMS = {
    "assistant_id": str(uuid.uuid4()),
    "thread_id": str(uuid.uuid4()),
    "run_id": str(uuid.uuid4()),
    "cron_id": str(uuid.uuid4()),
    "checkpoint_id": str(uuid.uuid4()),
    "namespace": "x",
    "job_id": "1",
}
EXTRA_PROBES = [
    ("GET", "/"),
    ("GET", "/openapi.json"),
    ("GET", "/icp/docs"),
    ("GET", "/icp/openapi.json"),
    ("GET", "/app"),
    ("GET", "/app/"),
    ("GET", "/app/app.js"),
    ("GET", "/app/app.css"),
    ("GET", "/app/no-such-asset.txt"),
    ("GET", "/.well-known/agent-card.json"),
    ("GET", "/ui/icp_search/index.js"),
    ("POST", "/ui/icp_search"),
    ("GET", "/mcp"),
    ("POST", "/mcp"),
    ("GET", "/no/such/route"),
    ("HEAD", "/ok"),
    ("HEAD", "/info"),
    ("HEAD", "/metrics"),
    ("HEAD", "/docs"),
    ("HEAD", "/openapi.json"),
    ("HEAD", "/app/"),
]


async def test_only_the_documented_endpoints_answer_without_a_token(
    secured: tuple[DevServer, str],
) -> None:
    srv, _ = secured
    documented = readme_open_endpoints()
    assert documented == {(m, p) for m, p, _why in OPEN_ENDPOINTS}
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
        spec = (await http.get("/openapi.json", headers=bearer(token("a")))).json()
        probes = [
            (method.upper(), re.sub(r"\{(\w+)\}", lambda m: PARAMS[m[1]], path))
            for path, ops in spec["paths"].items()
            for method in ops
        ]
        assert len(probes) > 60  # the server's whole API and the custom routes
        probes += EXTRA_PROBES

        async def call(method: str, path: str, headers: dict[str, str]) -> int:
            body = {} if method in ("POST", "PUT", "PATCH") else None
            return (await http.request(method, path, json=body, headers=headers)).status_code

        open_now: set[tuple[str, str]] = set()
        for headers in ({}, {"x-auth-scheme": "langsmith"}):
            statuses = await asyncio.gather(*(call(m, p, headers) for m, p in probes))
            open_now |= {(m, p) for (m, p), st in zip(probes, statuses, strict=True) if st != 401}
    # HEAD answers like GET; every open (method, path) must be a documented row ...
    undocumented = {
        (m, p)
        for m, p in open_now
        if not any(dm == ("GET" if m == "HEAD" else m) and matches(dp, p) for dm, dp in documented)
    }
    assert undocumented == set(), "answer without a token but are not in the README"
    # ... and every documented row must really be open.
    unused = {(dm, dp) for dm, dp in documented if not any(matches(dp, p) for _m, p in open_now)}
    assert unused == set(), "documented as open but need a token"
    for path in ("/metrics", "/docs", "/openapi.json", "/icp/docs", "/icp/openapi.json"):
        assert ("GET", path) not in open_now and ("HEAD", path) not in open_now


# --------------------------------------------------------------------------- tenants


class Matrix:
    """Tenant B's attempts on tenant A's resources: what leaked, and every body B saw."""

    def __init__(self, http: httpx.AsyncClient, a: dict[str, str], b: dict[str, str]) -> None:
        self.http, self.a, self.b = http, a, b
        self.leaks: list[str] = []
        self.seen_by_b: list[str] = []
        self.checked = 0

    async def as_b(self, method: str, path: str, denied: set[int], **kw: Any) -> httpx.Response:
        """Call as B; a status outside ``denied`` (or any 2xx) is a leak."""
        res = await self.http.request(method, path, headers=self.b, **kw)
        self.seen_by_b.append(res.text)
        self.checked += 1
        if res.status_code not in denied:
            self.leaks.append(f"B {method} {path}: {res.status_code} {res.text[:200]}")
        return res

    async def b_lists(
        self, method: str, path: str, marker: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> None:
        """Call a listing as B: it may answer, but never with A's items."""
        res = await self.http.request(method, path, headers=headers or self.b, **kw)
        self.seen_by_b.append(res.text)
        self.checked += 1
        if res.status_code >= 500 or marker in res.text:
            self.leaks.append(f"B {method} {path} listed A's data: {res.text[:200]}")


async def test_no_resource_of_one_tenant_reaches_another(secured: tuple[DevServer, str]) -> None:
    srv, db_url = secured
    marker = f"secret-of-a-{uuid.uuid4().hex}"
    a, b = bearer(token("tenant-a", "alice")), bearer(token("tenant-b", "bob"))
    human = {"messages": [{"type": "human", "content": "bakery"}]}
    async with httpx.AsyncClient(base_url=srv.url, timeout=60) as http:
        m = Matrix(http, a, b)

        # ---- A's resources, each carrying the marker.
        system = (await http.post("/assistants/search", json={"graph_id": "icp_search"},
                                  headers=a)).json()  # fmt: skip
        system_id = next(x["assistant_id"] for x in system
                         if x["metadata"].get("created_by") == "system")  # fmt: skip
        created = await http.post("/assistants", headers=a, json={
            "graph_id": "icp_search", "name": f"A {marker}", "context": {"note": marker},
            "metadata": {"note": marker, "created_by": "system"}})  # fmt: skip
        assert created.status_code == 200, created.text
        assistant = created.json()["assistant_id"]
        assert created.json()["metadata"]["created_by"] == "alice"  # never passes as system
        thread = (await http.post("/threads", json={"metadata": {"note": marker}},
                                  headers=a)).json()["thread_id"]  # fmt: skip
        run = await http.post(f"/threads/{thread}/runs/wait", headers=a, json={
            "assistant_id": assistant, "input": human, "metadata": {"note": marker}})  # fmt: skip
        assert run.status_code == 200 and "Bakery" in run.json()["messages"][-1]["content"]
        runs = (await http.get(f"/threads/{thread}/runs", headers=a)).json()
        run_id = runs[0]["run_id"]
        # A cron on A's own thread that fires every 5 s: its runs must act for tenant A.
        cron_thread = (await http.post("/threads", json={}, headers=a)).json()["thread_id"]
        cron = await http.post(f"/threads/{cron_thread}/runs/crons", headers=a, json={
            "assistant_id": system_id, "schedule": "* * * * * */5",
            "input": {"messages": [{"type": "human", "content": "restaurants"}]},
            "metadata": {"note": marker}})  # fmt: skip
        assert cron.status_code == 200, cron.text
        cron_id = cron.json()["cron_id"]
        ns = ["tenant-a", "alice", "notes"]
        item_a = {"namespace": ns, "key": "k", "value": {"note": marker}}
        put = await http.put("/store/items", headers=a, json=item_a)
        assert put.status_code == 204, put.text
        job = await http.post("/jobs/staging_upsert", json={"terms": ["manufacturing"]}, headers=a)
        assert job.status_code == 202, job.text
        job_id = job.json()["job_id"]

        # ---- B on assistants.
        m.checked += 1
        b_assistants = (await http.post("/assistants/search", json={}, headers=b)).json()
        m.seen_by_b.append(str(b_assistants))
        foreign = {x["assistant_id"] for x in b_assistants
                   if x["metadata"].get("tenant_id") != "tenant-b"}  # fmt: skip
        if foreign != {system_id}:  # B's own, and the system one: nothing of A's
            m.leaks.append(f"B's assistant search: {b_assistants}")
        await m.b_lists("POST", "/assistants/count", marker, json={})
        for method, path in (
            ("GET", f"/assistants/{assistant}"),
            ("GET", f"/assistants/{assistant}/graph"),
            ("GET", f"/assistants/{assistant}/schemas"),
            ("GET", f"/assistants/{assistant}/subgraphs"),
            ("POST", f"/assistants/{assistant}/versions"),
            ("POST", f"/assistants/{assistant}/latest"),
            ("PATCH", f"/assistants/{assistant}"),
            ("DELETE", f"/assistants/{assistant}"),
        ):
            await m.as_b(method, path, {404, 422},
                         json={"version": 1} if method in ("POST", "PATCH") else None)  # fmt: skip
        # Nobody but its creator changes the graph's system assistant.
        await m.as_b("PATCH", f"/assistants/{system_id}", {404}, json={"metadata": {"x": "y"}})
        await m.as_b("DELETE", f"/assistants/{system_id}", {404})
        # Running A's assistant, statelessly or on B's own thread.
        await m.as_b("POST", "/runs/wait", {404}, json={"assistant_id": assistant, "input": human})
        b_thread = (await http.post("/threads", json={}, headers=b)).json()["thread_id"]
        await m.as_b("POST", f"/threads/{b_thread}/runs/wait", {404},
                     json={"assistant_id": assistant, "input": human})  # fmt: skip

        # ---- B through the server's MCP and A2A endpoints (they call the same API as B).
        rpc = {"Accept": "application/json, text/event-stream"}
        tools = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        await m.b_lists("POST", "/mcp", marker, json=tools, headers={**b, **rpc})
        a_tools = await http.post("/mcp", json=tools, headers={**a, **rpc})
        assert marker in a_tools.text, a_tools.text[:300]  # A's assistant is A's MCP tool
        send = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "message/send",
            "params": {
                "message": {
                    "role": "user",
                    "parts": [{"kind": "text", "text": "bakery"}],
                    "messageId": "m1",
                }
            },
        }
        a2a = await http.post(f"/a2a/{assistant}", json=send, headers={**b, **rpc})
        m.seen_by_b.append(a2a.text)
        m.checked += 1
        if a2a.status_code == 200 and "result" in a2a.json():
            m.leaks.append(f"B ran A's assistant over A2A: {a2a.text[:200]}")

        # ---- B on threads and runs.
        await m.b_lists("POST", "/threads/search", marker, json={})
        await m.b_lists("POST", "/threads/search", marker, json={"metadata": {"note": marker}})
        await m.b_lists("POST", "/threads/count", marker, json={"metadata": {"note": marker}})
        for method, path, body in (
            ("GET", f"/threads/{thread}", None),
            ("GET", f"/threads/{thread}/state", None),
            ("GET", f"/threads/{thread}/history", None),
            ("POST", f"/threads/{thread}/history", {}),
            ("POST", f"/threads/{thread}/state", {"values": {"messages": []}}),
            ("PATCH", f"/threads/{thread}", {"metadata": {"x": "y"}}),
            ("POST", f"/threads/{thread}/copy", {}),
            ("GET", f"/threads/{thread}/runs", None),
            ("GET", f"/threads/{thread}/runs/{run_id}", None),
            ("GET", f"/threads/{thread}/runs/{run_id}/join", None),
            ("POST", f"/threads/{thread}/runs/{run_id}/cancel", {}),
            ("POST", f"/threads/{thread}/runs/wait", {"assistant_id": system_id, "input": human}),
            ("POST", f"/threads/{thread}/runs", {"assistant_id": system_id, "input": human}),
            ("DELETE", f"/threads/{thread}/runs/{run_id}", None),
            ("DELETE", f"/threads/{thread}", None),
        ):
            await m.as_b(method, path, {404, 409, 422}, json=body)

        # ---- B on crons.
        await m.b_lists("POST", "/runs/crons/search", marker, json={})
        m.checked += 1
        if (await http.post("/runs/crons/search", json={}, headers=b)).json():
            m.leaks.append("B's cron search is not empty")
        await m.as_b("GET", f"/runs/crons/{cron_id}", {404, 405})
        await m.as_b("PATCH", f"/runs/crons/{cron_id}", {404}, json={"schedule": "0 1 1 1 *"})
        await m.as_b("DELETE", f"/runs/crons/{cron_id}", {404})
        await m.as_b("POST", "/runs/crons", {404},
                     json={"assistant_id": assistant, "schedule": "0 0 1 1 *"})  # fmt: skip
        await m.as_b("POST", f"/threads/{thread}/runs/crons", {404},
                     json={"assistant_id": system_id, "schedule": "0 0 1 1 *"})  # fmt: skip

        # ---- B on the store.
        params = {"namespace": ".".join(ns), "key": "k"}
        await m.as_b("GET", "/store/items", {403}, params=params)
        await m.as_b("PUT", "/store/items", {403},
                     json={"namespace": ns, "key": "k", "value": {"x": 1}})  # fmt: skip
        await m.as_b("DELETE", "/store/items", {403}, json={"namespace": ns, "key": "k"})
        await m.as_b("POST", "/store/items/search", {403}, json={"namespace_prefix": ns[:1]})
        await m.b_lists("POST", "/store/items/search", marker, json={"namespace_prefix": []})
        await m.b_lists("POST", "/store/namespaces", "tenant-a", json={})

        # ---- B on the custom routes.
        await m.as_b("GET", f"/jobs/{job_id}", {404})
        await m.as_b("POST", f"/jobs/{job_id}/cancel", {404})
        await m.b_lists("GET", "/jobs", f'"job_id":{job_id}')
        b_leads = await http.get("/leads", headers=b)
        b_companies = await http.get("/companies", headers=b)
        m.checked += 2
        for res in (b_leads, b_companies):
            m.seen_by_b.append(res.text)
            if res.status_code != 200 or res.json()["data"]:
                m.leaks.append(f"B {res.request.url.path}: {res.status_code} {res.text[:200]}")

        # ---- A's cron has run for tenant A (within a few 5 s ticks of the scheduler).
        deadline = time.monotonic() + 60
        reply = ""
        while time.monotonic() < deadline and not reply:
            await asyncio.sleep(2)
            state = (await http.get(f"/threads/{cron_thread}/state", headers=a)).json()
            messages = (state.get("values") or {}).get("messages") or []
            reply = messages[-1]["content"] if len(messages) > 1 else ""
        await http.delete(f"/runs/crons/{cron_id}", headers=a)

        # ---- A still has every resource B tried (B's attempts changed nothing).
        assert (await http.get(f"/assistants/{assistant}", headers=a)).json()["context"] == {
            "note": marker
        }
        assert (await http.get(f"/threads/{thread}", headers=a)).json()["metadata"]["note"] == (
            marker
        )
        item = await http.get("/store/items", params=params, headers=a)
        assert item.json()["value"] == {"note": marker}
        assert (await http.get(f"/jobs/{job_id}", headers=a)).json()["status"] == "queued"
        a_leads = (await http.get("/leads", headers=a)).json()["data"]
        a_companies = (await http.get("/companies", headers=a)).json()["data"]
        assert len(a_leads) >= 10 and {c["company_id"] for c in a_companies} >= {
            lead["company_id"] for lead in a_leads
        }

    assert m.leaks == [], "\n".join(m.leaks)
    assert not [t for t in m.seen_by_b if marker in t], "a response to B carried A's marker"
    assert m.checked >= 45
    assert "Restaurants" in reply and "failed" not in reply, reply
    with psycopg.connect(db_url) as conn:
        tenants = dict(conn.execute("SELECT tenant_id, count(*) FROM lead_scores GROUP BY 1"))
    assert set(tenants) == {"tenant-a"}, tenants  # the cron's scores are tenant A's too


# --------------------------------------------------------------------------- start-up


def test_a_short_secret_stops_start_up_with_one_line(sample_db: str) -> None:
    with pytest.raises(RuntimeError) as info:
        srv = start_server(sample_db, {"ICP_AUTH_JWT_SECRET": "too-short-secret"})
        srv.stop()  # pragma: no cover - only reached when the server wrongly started
    log = str(info.value)
    assert "langgraph dev exited" in log
    lines = [ln for ln in log.splitlines() if "ICP_AUTH_JWT_SECRET" in ln]
    assert lines == [
        "icp: configuration error: ICP_AUTH_JWT_SECRET: expected at least 32 bytes (got 16); "
        "use a random value, e.g. `openssl rand -hex 32`"
    ]
    assert "Traceback" not in log and "too-short-secret" not in log


# --------------------------------------------------------------------------- agent-chat-ui


async def test_a_token_in_agent_chat_uis_key_field_works_for_chat_and_cards(
    secured: tuple[DevServer, str],
) -> None:
    """agent-chat-ui's SDK client sends the key as x-api-key; the cards' requests too."""
    from langgraph_sdk import get_client

    srv, _ = secured
    bakery = {"messages": [{"type": "human", "content": [{"type": "text", "text": "bakery"}]}]}
    async with get_client(url=srv.url, api_key=token("tenant-k")) as client:
        thread = await client.threads.create()
        async for chunk in client.runs.stream(
            thread["thread_id"],
            "icp_search",
            input=bakery,
            stream_mode=["values", "messages-tuple", "custom"],
        ):
            assert chunk.event != "error", chunk.data
        state = await client.threads.get_state(thread["thread_id"])
    job_id = state["values"]["job"]["job_id"]
    assert {u["name"] for u in state["values"]["ui"]} == {"search", "leads", "job"}
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
        own = await http.get(f"/jobs/{job_id}", headers={"x-api-key": token("tenant-k")})
        assert own.status_code == 200 and own.json()["terms"] == ["bakery"]
        other = await http.get(f"/jobs/{job_id}", headers={"x-api-key": token("tenant-l", "l")})
        assert other.status_code == 404
        forged = jwt.encode(
            {"sub": "x", "tenant_id": "tenant-k", "exp": int(time.time()) + 600},
            "x" * 40,
            algorithm="HS256",
        )
        assert (await http.get("/jobs", headers={"x-api-key": forged})).status_code == 401
        # The header wins over the key when both come.
        both = {"x-api-key": token("tenant-k"), **bearer(forged)}
        assert (await http.get(f"/jobs/{job_id}", headers=both)).status_code == 401


async def test_the_chats_export_link_downloads_without_a_token(
    secured: tuple[DevServer, str],
) -> None:
    """ "export these" gives a clickable link (a browser sends no token): absolute, signed
    for the run's tenant, and good for exactly that file; another search, tenant or filter
    in it is a 401, and a token in the header still decides when one comes."""
    srv, _ = secured
    e = bearer(token("tenant-e", "erin"))

    def say(text: str) -> dict[str, Any]:
        return {"assistant_id": "icp_search",
                "input": {"messages": [{"type": "human", "content": text}]}}  # fmt: skip

    async with httpx.AsyncClient(base_url=srv.url, timeout=60) as http:
        thread = (await http.post("/threads", json={}, headers=e)).json()["thread_id"]
        first = (await http.post(f"/threads/{thread}/runs/wait", headers=e, json=say("bakery")))
        head = [r["uen"] for r in first.json()["head"]]
        out = await http.post(f"/threads/{thread}/runs/wait", headers=e, json=say("export these"))
        text = out.json()["messages"][-1]["content"]
        assert "(the link works for 24 hours)" in text, text
        link = text.split("**[Download the CSV](", 1)[1].split(")**", 1)[0]
        assert link.startswith(f"{srv.url}/leads/export.csv?search_id=") and "&sig=" in link
        async with httpx.AsyncClient(timeout=60) as browser:  # no token, as a click
            got = await browser.get(link)
            assert got.status_code == 200, got.text
            rows = csv.DictReader(io.StringIO(got.content.decode("utf-8-sig")))
            uens = [r["uen"] for r in rows]
            assert head and uens[: len(head)] == head
            for old, new in (("search_id=", "search_id=9"), ("tenant=tenant-e", "tenant=tenant-f"),
                             ("&sig=", "&min_score=0&sig=")):  # fmt: skip
                bad = await browser.get(link.replace(old, new, 1))
                assert bad.status_code == 401 and bad.json()["detail"] == "invalid link signature"
            other = await browser.get(link, headers=bearer(token("tenant-f", "frank")))
            assert other.status_code == 404  # the header's tenant, not the link's
            elsewhere = await browser.get(link.replace("/leads/export.csv", "/leads", 1))
            assert elsewhere.status_code == 401
