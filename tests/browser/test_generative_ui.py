"""The generative-UI cards in a chat host built the way agent-chat-ui is, on the real server.

The host (``tests/browser/host/main.tsx``) is agent-chat-ui's stream wiring in miniature:
``useStream`` from @langchain/langgraph-sdk/react, UI messages folded into ``values.ui``
by ``onCustomEvent``, each AI message's cards rendered by ``LoadExternalComponent`` (which
fetches the bundle from ``POST /ui/icp_search``), the key from its form sent as
``x-api-key``. It is built with esbuild from ``ui/node_modules`` and served from its own
origin, as agent-chat-ui is, against ``langgraph dev`` bundling ``ui/`` (langgraph.json).
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from playwright.async_api import (
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    Route,
    expect,
)

from icp.devserver import ROOT, DevServer, free_port, start_server

ICP = str(Path(sys.executable).parent / "icp")
SECRET = "generative-ui-test-secret-0123456789abcdef"
HOST_SRC = ROOT / "tests" / "browser" / "host"
UI_MODULES = ROOT / "ui" / "node_modules"
MANUFACTURING = 1659
WHOLESALE_HEAD = 2000


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def host_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Build the host page with esbuild and serve it from its own origin."""
    out = tmp_path_factory.mktemp("host")
    esbuild = UI_MODULES / ".bin" / "esbuild"
    assert esbuild.exists(), "ui/node_modules is missing: `make test` runs npm ci in ui/"
    subprocess.run(
        [
            str(esbuild),
            str(HOST_SRC / "main.tsx"),
            "--bundle",
            "--format=iife",
            "--platform=browser",
            "--target=es2020",
            "--jsx=automatic",
            "--log-level=warning",
            '--define:process.env.NODE_ENV="development"',
            f"--outfile={out / 'host.js'}",
        ],  # fmt: skip
        env={**os.environ, "NODE_PATH": str(UI_MODULES)},
        check=True,
        timeout=120,
    )
    shutil.copy(HOST_SRC / "index.html", out / "index.html")
    handler = functools.partial(_QuietHandler, directory=str(out))
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@dataclass
class Chat:
    """A running server with the cards, the database behind it, the key the host sends."""

    url: str
    database_url: str
    token: str = ""
    tenant: str = "default"


def token_for(tenant: str) -> str:
    claims = {"sub": f"sales@{tenant}", "tenant_id": tenant, "exp": int(time.time()) + 3600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def serve_cards(database_url: str, env: dict[str, str]) -> Iterator[DevServer]:
    """Run ``langgraph dev`` bundling the cards; afterwards nothing it started may remain
    (its bundler runs as npx -> node -> esbuild)."""
    srv = start_server(database_url, env, ui=True)
    try:
        yield srv
    finally:
        srv.stop()
        deadline = time.monotonic() + 10
        while True:
            try:
                os.killpg(srv.proc.pid, 0)  # anyone left in the server's process group?
            except ProcessLookupError:
                break
            assert time.monotonic() < deadline, "the server left its bundler running"
            time.sleep(0.2)


@pytest.fixture(params=["auth-off", "auth-on"])
def chat(request: pytest.FixtureRequest, sample_db: str) -> Iterator[Chat]:
    """``langgraph dev`` with the cards; with auth on, a tenant's JWT for the key field."""
    auth = request.param == "auth-on"
    # Jobs capped at 500 rows whoever runs them (the CLI below, or this server's worker,
    # which takes the follow-ups a capped job releases).
    env = {"UPSERT_MAX_PER_JOB": "700", **({"ICP_AUTH_JWT_SECRET": SECRET} if auth else {})}
    for srv in serve_cards(sample_db, env):
        if auth:
            yield Chat(srv.url, sample_db, token_for("acme"), "acme")
        else:
            yield Chat(srv.url, sample_db)


@pytest.fixture
def wholesale(sample_db: str) -> Iterator[Chat]:
    """``langgraph dev`` with the cards and a chat head of 2,000 companies."""
    env = {"UPSERT_SYNC_LIMIT": str(WHOLESALE_HEAD), "ICP_HEAD_BUDGET_MS": "60000"}
    for srv in serve_cards(sample_db, env):
        yield Chat(srv.url, sample_db)


@dataclass
class Watch:
    """What the page did: console errors, uncaught errors, requests to the server."""

    errors: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    injected: set[str] = field(default_factory=set)
    """URLs the test itself answered with an error (their console lines are expected)."""


def watch(page: Page, server: str) -> Watch:
    seen = Watch()

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error" and msg.location.get("url") not in seen.injected:
            seen.errors.append(f"console: {msg.text}")

    def on_response(res: Response) -> None:
        if res.status >= 400 and res.url not in seen.injected:
            seen.errors.append(f"{res.status} {res.request.method} {res.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen.errors.append(f"pageerror: {exc}"))
    page.on("response", on_response)
    page.on("request", lambda r: seen.requests.append(r) if r.url.startswith(server) else None)
    return seen


async def fail_job_polls(page: Page, seen: Watch, failures: int) -> list[float]:
    """Answer the job card's next ``failures`` polls with 503; return every poll's time."""
    times: list[float] = []

    async def answer(route: Route) -> None:
        times.append(time.monotonic())
        if len(times) <= failures:
            seen.injected.add(route.request.url)
            await route.fulfill(
                status=503,
                json={"detail": "the database is unavailable; please try again shortly"},
                headers={"access-control-allow-origin": "*"},
            )
        else:
            await route.continue_()

    await page.route(re.compile(r".*/jobs/\d+$"), answer)
    return times


async def say(page: Page, text: str) -> None:
    await page.get_by_label("Message").fill(text)
    await page.get_by_role("button", name="Send").click()


async def ask(context: BrowserContext, host: str, chat: Chat, text: str) -> tuple[Page, Watch]:
    """Connect like agent-chat-ui's form (URL and assistant in the query, the key in its
    field), watch the page, and send the first message."""
    page = await context.new_page()
    seen = watch(page, chat.url)
    await page.goto(f"{host}/index.html?apiUrl={chat.url}&assistantId=icp_search")
    await page.get_by_label("LangSmith API Key").fill(chat.token)
    await page.get_by_role("button", name="Continue").click()
    await say(page, text)
    return page, seen


def icp(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ICP, *args],
        env={**os.environ, "DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def chain_done(database_url: str, first: int, timeout: float = 60) -> list[int]:
    """Wait until a job and its follow-ups are done; return their ids in order."""
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "WITH RECURSIVE chain AS (SELECT job_id, status FROM background_jobs"
                " WHERE job_id = %s UNION ALL SELECT j.job_id, j.status FROM background_jobs j"
                " JOIN chain c ON j.parent_job_id = c.job_id) SELECT job_id, status FROM chain"
                " ORDER BY job_id",
                (first,),
            ).fetchall()
        if rows and all(r[1] == "done" for r in rows) and len(rows) == 3:
            return [int(r[0]) for r in rows]
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)


def head_of(database_url: str, tenant: str) -> set[int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT company_id FROM lead_scores WHERE tenant_id = %s", (tenant,))
        return {int(r[0]) for r in rows.fetchall()}


async def card_ids(page: Page, nth: int) -> list[int]:
    rows = page.locator(".icp-leads").nth(nth).locator(".icp-row")
    return [int(x) for x in await rows.evaluate_all("rs => rs.map(r => r.dataset.companyId)")]


async def test_manufacturing_renders_the_three_cards_and_follows_the_job(
    host_url: str, chat: Chat, context: BrowserContext, shot: Callable[[str], str]
) -> None:
    page, seen = await ask(context, host_url, chat, "Manufacturing")

    # The reply's text is complete on its own; the three cards render under it.
    reply = page.get_by_test_id("message-ai").first
    await expect(reply).to_contain_text("1,659 companies")
    await expect(reply.locator("table tbody tr")).to_have_count(10)  # the markdown table
    search = page.locator(".icp-search")
    leads = page.locator(".icp-leads")
    job = page.locator(".icp-job")
    await expect(search).to_have_count(1)
    await expect(leads).to_have_count(1)
    await expect(job).to_have_count(1)

    # Search card: the matched SSIC group as a chip with live/total counts.
    chip = search.locator(".icp-chip")
    await expect(chip).to_have_count(1)
    await expect(chip).to_have_attribute("data-code", "C")
    await expect(chip).to_contain_text("Manufacturing")
    await expect(chip).to_contain_text("355 codes")
    await expect(chip).to_contain_text("566 live / 1,659")

    # Leads card: the 10 companies scored in the chat, best first, with bucket colours.
    rows = leads.locator(".icp-row")
    await expect(rows).to_have_count(10)
    first_ids = await card_ids(page, 0)
    assert set(first_ids) == head_of(chat.database_url, chat.tenant)
    scores = [int(s) for s in await leads.locator(".icp-score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True) and len(scores) == 10
    top = rows.first
    bucket = await top.locator(".icp-score").get_attribute("data-bucket")
    assert bucket in {"high", "medium", "low"}
    colour = await top.locator(".icp-score").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), colour
    await expect(top).to_contain_text("est. ")
    await expect(top).to_contain_text("Live")
    await expect(top).to_have_attribute("aria-expanded", "false")
    await top.click()
    await expect(top).to_have_attribute("aria-expanded", "true")
    await expect(top.locator(".icp-why")).to_contain_text("matched by 'manufacturing'")

    # Job card: queued, says when it runs, links to the product page without a token.
    await expect(job).to_have_attribute("data-status", "queued")
    await expect(job.locator(".icp-line")).to_contain_text(
        re.compile(r"Queued: runs at the next scheduled run, \d\d:\d\d .*, in ")
    )
    job_id = int(await job.get_attribute("data-job-id") or 0)
    link = await job.locator("a").get_attribute("href")
    assert link == f"{chat.url}/app/?job={job_id}"
    await page.screenshot(path=shot(f"20-cards-queued-{chat.tenant}"), full_page=True)

    # A failing poll is retried with growing pauses, and the card says so until it recovers.
    polls = await fail_job_polls(page, seen, failures=2)
    problem = job.locator(".icp-problem")
    await expect(problem).to_contain_text("retrying in")
    await expect(problem).to_have_count(0, timeout=30_000)
    assert len(polls) >= 3
    assert polls[2] - polls[1] > polls[1] - polls[0] > 1.5, polls  # backoff, then doubled
    await expect(job).to_have_attribute("data-status", "queued")
    await page.unroute(re.compile(r".*/jobs/\d+$"))

    # The queue drains (jobs capped at 700 rows, so the card follows two follow-ups): the CLI
    # runs the job, and any live runner (the CLI or the server's worker) the follow-ups.
    run = await asyncio.to_thread(icp, chat.database_url, "jobs", "run", UPSERT_MAX_PER_JOB="700")
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"job {job_id}: done 700/700" in run.stdout, run.stdout
    finished = await asyncio.to_thread(chain_done, chat.database_url, job_id)
    assert finished[0] == job_id and len(finished) == 3, finished
    await expect(job).to_have_attribute("data-status", "done", timeout=30_000)
    await expect(job).to_have_attribute("data-job-id", str(finished[-1]))
    await expect(job.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    await expect(job.locator(".icp-count")).to_contain_text("1,659 / 1,659 companies")
    await expect(job.locator(".icp-line")).to_contain_text("Done")

    # "More" sends the follow-up through the stream: a new turn with the next page.
    more = leads.get_by_role("button", name="More leads")
    await more.click()
    humans = page.get_by_test_id("message-human")
    await expect(humans).to_have_count(2)
    await expect(humans.nth(1)).to_have_text("more")
    await expect(leads).to_have_count(2)
    await expect(leads.nth(1).locator(".icp-row")).to_have_count(10)
    await expect(leads.nth(1).locator(".icp-rank").first).to_have_text("11")
    second_ids = await card_ids(page, 1)
    assert not set(second_ids) & set(first_ids)
    await expect(page.get_by_test_id("message-ai").nth(1)).to_contain_text("11\u201320")
    await expect(leads.first.get_by_role("button", name="More leads")).to_have_count(0)
    await expect(page.get_by_test_id("status")).to_have_text("idle")
    await page.screenshot(path=shot(f"21-cards-done-more-{chat.tenant}"), full_page=True)
    await reply.screenshot(path=shot(f"24-reply-with-cards-{chat.tenant}"))

    # Narrow and dark: the cards follow the host's theme and stay within its width.
    await page.set_viewport_size({"width": 360, "height": 800})
    await page.emulate_media(color_scheme="dark")
    for card in (search, leads.first, job):
        over = await card.evaluate("e => e.scrollWidth - e.clientWidth")
        assert over <= 1, over
    fg = await search.evaluate("e => getComputedStyle(e).color")
    assert fg not in ("rgb(0, 0, 0)",), fg  # text follows the dark host
    await leads.first.screenshot(path=shot(f"22-leads-narrow-dark-{chat.tenant}"))
    await job.screenshot(path=shot(f"22-job-narrow-dark-{chat.tenant}"))

    assert seen.errors == []
    if chat.token:
        # Every call carried the token as x-api-key (the bundle's <script> cannot, and needs
        # none); no URL ever held it.
        assert not [r.url for r in seen.requests if chat.token in r.url]
        without = [
            f"{r.method} {r.url}"
            for r in seen.requests
            if r.headers.get("x-api-key") != chat.token
            and not re.search(r"/ui/icp_search/entrypoint\.js$", r.url)
        ]
        assert without == []
        polled = [r for r in seen.requests if re.search(r"/jobs/\d+$", r.url)]
        assert polled, "the job card polled GET /jobs/{id}"


# Scroll the card's list one viewport at a time, `steps` times, waiting a frame after each,
# and report the rows in the DOM (the list lives in the card's shadow root).
SCROLL_JS = """
async (list, [steps, fromTop]) => {
  const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const out = [];
  for (let i = 0; i < steps; i++) {
    list.scrollTop = fromTop && i === 0 ? 0 : list.scrollTop + list.clientHeight;
    await frame();
    const rows = [...list.querySelectorAll(".icp-row")];
    out.push({
      rows: rows.map((r) => [Number(r.dataset.index), Number(r.dataset.companyId)]),
      atEnd: list.scrollTop + list.clientHeight >= list.scrollHeight - 2,
    });
    if (out.at(-1).atEnd) break;
  }
  return out;
}
"""


async def test_leads_card_scrolls_2000_rows_with_a_bounded_dom(
    host_url: str, wholesale: Chat, context: BrowserContext, shot: Callable[[str], str]
) -> None:
    page, seen = await ask(context, host_url, wholesale, "Wholesale and retail trade")
    leads = page.locator(".icp-leads")
    await expect(leads).to_have_attribute("data-rows", str(WHOLESALE_HEAD), timeout=60_000)
    # The text lists the first 20 and counts the rest.
    await expect(page.get_by_test_id("message-ai")).to_contain_text("and 1,980 more")
    with psycopg.connect(wholesale.database_url) as conn:
        expected = [
            int(r[0])
            for r in conn.execute(
                "SELECT company_id FROM lead_scores JOIN companies USING (company_id)"
                " ORDER BY score DESC, uen"  # the head's order: best first, ties by UEN
            ).fetchall()
        ]
    assert len(expected) == WHOLESALE_HEAD
    listing = leads.locator(".icp-list")
    by_index: dict[int, int] = {}
    max_rows = 0
    batches = [await listing.evaluate(SCROLL_JS, [1, True])]
    steps = 0
    while not batches[-1][-1]["atEnd"]:
        batches.append(await listing.evaluate(SCROLL_JS, [40, False]))
        steps += len(batches[-1])
        assert steps < 2_000
        if len(batches) == 3:
            await page.screenshot(path=shot("23-leads-2000-mid-scroll"), full_page=True)
    for batch in batches:
        for state in batch:
            max_rows = max(max_rows, len(state["rows"]))
            for index, company_id in state["rows"]:
                assert by_index.setdefault(index, company_id) == company_id, "a row moved"
    assert sorted(by_index) == list(range(WHOLESALE_HEAD)), "a row was never rendered"
    assert [by_index[i] for i in range(WHOLESALE_HEAD)] == expected  # best first, each once
    print(f"leads card: {WHOLESALE_HEAD:,} rows, at most {max_rows} in the DOM over {steps} steps")
    assert 0 < max_rows <= 30, max_rows
    await expect(leads.locator(".icp-rank").last).to_have_text(f"{WHOLESALE_HEAD:,}")

    # The rest of the search is cancelled: the job card says so and stops polling.
    job = page.locator(".icp-job")
    job_id = await job.get_attribute("data-job-id")
    async with httpx.AsyncClient(base_url=wholesale.url, timeout=30) as http:
        assert (await http.post(f"/jobs/{job_id}/cancel")).status_code == 200
    await expect(job).to_have_attribute("data-status", "cancelled")
    await expect(job.locator(".icp-line")).to_have_text("Cancelled.")

    def polls() -> int:
        return sum(1 for r in seen.requests if r.url.endswith(f"/jobs/{job_id}"))

    after = polls()
    await asyncio.sleep(4)  # more than two polling intervals
    assert polls() == after, "the card kept polling a finished job"
    assert seen.errors == []
