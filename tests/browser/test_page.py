"""The product's page in a real browser: debounced preview, queue + progress, virtual list."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import psycopg
import pytest
from playwright.async_api import BrowserContext, Page, Request, Route, expect

from tests.browser.conftest import Served, start_dev, start_uvicorn
from tests.integration.jobs_support import slow_batches

SEEDED_LEADS = 10_500
SECRET = "browser-test-secret-0123456789-0123456789"


@pytest.fixture
def dev_slow_debounce(sample_db: str) -> Iterator[Served]:
    """The real LangGraph dev server; a long debounce so 'quick typing' is quick on any box."""
    yield from start_dev(sample_db, {"CHAT_DEBOUNCE_MS": "1500"})


@pytest.fixture
def dev(sample_db: str) -> Iterator[Served]:
    """The real LangGraph dev server with the default settings."""
    yield from start_dev(sample_db, {"CHAT_DEBOUNCE_MS": "150"})


def seed_leads(url: str, n: int, tenant: str = "default") -> list[int]:
    """Insert n companies scored for the tenant (20 distinct scores, so many ties)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """
            WITH c AS (
                INSERT INTO companies (uen, name, industry_code, industry_norm, incorporation_year,
                                       is_live)
                SELECT 'B' || lpad(i::text, 9, '0'), 'Seeded Company ' || i || ' Pte. Ltd.',
                       (ARRAY['10711', '10712', '47111', '56111', '62011'])[1 + i %% 5],
                       (ARRAY['Manufacture of bread and cakes', 'Manufacture of biscuits',
                              'Supermarkets', 'Restaurants', 'Software development'])[1 + i %% 5],
                       1980 + i %% 44, true  -- live, as the scores say (an upsert sets both)
                FROM generate_series(1, %(n)s) AS i
                RETURNING company_id
            )
            , search AS (
                INSERT INTO icp_searches (tenant_id, terms, codes, codes_key)
                VALUES (%(tenant)s, '{seeded}', '{10711}', md5(%(tenant)s))
                RETURNING search_id
            )
            INSERT INTO lead_scores (tenant_id, search_id, company_id, score, bucket, is_live,
                                     rationale)
            SELECT %(tenant)s, search.search_id, company_id, s,
                   CASE WHEN s >= 85 THEN 'high' WHEN s >= 65 THEN 'medium' ELSE 'low' END,
                   true,
                   'fit 45 (primary 10711 seeded) · live · annual return 2025-04 +12'
                   ' · 3 officers +3 · est. 2009 +10 · local company +8 · full address +5'
            FROM search, c, LATERAL (SELECT 20 + (company_id %% 20) * 4 AS s) x
            """,
            {"n": n, "tenant": tenant},
        )
        conn.execute("ANALYZE lead_scores")
        rows = conn.execute(
            "SELECT company_id FROM lead_scores WHERE tenant_id = %s"
            " ORDER BY score DESC, company_id DESC",
            (tenant,),
        ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture
def many_leads(sample_db: str) -> Iterator[tuple[Served, list[int]]]:
    """uvicorn serving the page on a database with 10,500 scored leads."""
    expected = seed_leads(sample_db, SEEDED_LEADS)
    for served in start_uvicorn(sample_db):
        yield served, expected


@pytest.fixture
def auth_server(sample_db: str) -> Iterator[Served]:
    """uvicorn with auth on (ICP_AUTH_JWT_SECRET set) and a few leads for tenant 'acme'."""
    seed_leads(sample_db, 30, tenant="acme")
    yield from start_uvicorn(sample_db, {"ICP_AUTH_JWT_SECRET": SECRET})


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait until a condition holds (checked every 50 ms), or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def previews(page: Page) -> dict[str, list[str]]:
    """Record the page's preview requests: sent, finished and failed (aborted)."""
    seen: dict[str, list[str]] = {"sent": [], "finished": [], "failed": []}

    def track(kind: str) -> Callable[[Request], None]:
        def on(request: Request) -> None:
            if "/icp/preview" in request.url:
                seen[kind].append(request.url)

        return on

    page.on("request", track("sent"))
    page.on("requestfinished", track("finished"))
    page.on("requestfailed", track("failed"))
    return seen


async def test_quick_typing_sends_one_preview_and_aborts_stale_ones(
    dev_slow_debounce: Served, context: BrowserContext, shot: Callable[[str], str]
) -> None:
    page = await context.new_page()
    seen = previews(page)
    await page.goto(f"{dev_slow_debounce.url}/app/")
    await expect(page.locator('meta[name="icp-debounce-ms"]')).to_have_attribute("content", "1500")
    await expect(page.locator("#leads-status")).to_contain_text("")
    box = page.get_by_role("searchbox", name="Industries")
    await box.focus()
    await page.screenshot(path=shot("01-empty"), full_page=True)
    for text in ("manuf", "manufact", "manufacturing"):
        await box.fill(text)  # each edit well inside the 1.5 s debounce
    await expect(page.locator("#total")).to_have_text("1,659")
    await expect(page.locator("#codes .chip").first).to_be_visible()
    assert len(seen["sent"]) == 1, seen
    assert "q=manufacturing" in seen["sent"][0]
    await until(lambda: len(seen["finished"]) == 1)
    assert seen["failed"] == []
    await expect(page.locator("#sample tr")).to_have_count(20)
    await expect(page.get_by_role("button", name="Queue these")).to_be_enabled()
    await page.screenshot(path=shot("02-preview-manufacturing"), full_page=True)

    # A request still in flight when the user types again is aborted, not awaited.
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        if "q=bakery" in route.request.url and "restaurants" not in route.request.url:
            await release.wait()
        try:
            await route.continue_()
        except Exception:  # noqa: BLE001  (the page aborted it meanwhile)
            pass

    await page.route(re.compile(r".*/icp/preview.*"), hold)
    await box.fill("bakery")
    await until(lambda: len(seen["sent"]) == 2)
    await box.fill("bakery and restaurants")
    await until(lambda: len(seen["failed"]) == 1)
    release.set()
    await expect(page.locator("#reasons li")).to_have_count(2)
    await expect(page.locator("#reasons")).to_contain_text("restaurants")
    assert "q=bakery" in seen["failed"][0] and len(seen["sent"]) == 3
    await until(lambda: len(seen["finished"]) == 2)

    # Chit-chat and unknown words are explained, not errors.
    await page.unroute(re.compile(r".*/icp/preview.*"))
    await box.fill("thanks!")
    await expect(page.locator("#preview-status")).to_contain_text("doesn’t name an industry")
    await expect(page.get_by_role("button", name="Queue these")).to_be_disabled()
    await box.fill("qwxzv plorkish")
    await expect(page.locator("#preview-status")).to_contain_text("No SSIC 2020 industry matches")
    await box.fill("services")  # too broad: the main groups to choose from, nothing to queue
    await expect(page.locator("#preview-status")).to_contain_text("too broad to search")
    await expect(page.locator("#preview-status")).to_contain_text("Transportation and storage")
    await expect(page.get_by_role("button", name="Queue these")).to_be_disabled()
    await page.screenshot(path=shot("03-preview-no-match"), full_page=True)


@pytest.fixture
def dev_immediate(sample_db: str) -> Iterator[Served]:
    """The real LangGraph dev server with JOBS_START=immediate, small capped jobs, slow batches."""
    slow_batches(sample_db, 0.2)  # progress the page can watch: 0.2 s per batch of 10 rows
    yield from start_dev(
        sample_db,
        {
            "CHAT_DEBOUNCE_MS": "150",
            "JOBS_START": "immediate",
            "STAGING_BATCH_SIZE": "10",
            "UPSERT_MAX_PER_JOB": "25",  # the page must follow the continuation jobs
        },
    )


async def test_queue_under_immediate_runs_to_done_with_no_cli(
    dev_immediate: Served, context: BrowserContext, shot: Callable[[str], str]
) -> None:
    page = await context.new_page()
    await page.goto(f"{dev_immediate.url}/app")  # the redirect adds the slash
    assert page.url.endswith("/app/")
    await expect(page.locator(".empty")).to_contain_text("No leads yet")
    box = page.get_by_role("searchbox", name="Industries")
    await box.fill("bakery")
    await expect(page.get_by_role("button", name="Queue these")).to_be_enabled()
    total = int((await page.locator("#total").inner_text()).replace(",", ""))
    live = int((await page.locator("#live").inner_text()).replace(",", ""))
    assert total > 25 and 0 < live < total
    await box.press("Enter")
    await expect(page.locator("#job")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"\?job=\d+$"))
    job_id = int(page.url.rsplit("=", 1)[1])
    # The server's own worker takes the job at once: no `icp jobs run` anywhere.
    await expect(page.locator("#job-state")).to_have_text("running")
    await expect(page.locator("#job-when")).to_contain_text("Running")
    await expect(page.get_by_role("button", name="Run now")).to_be_hidden()
    await page.screenshot(path=shot("04-job-running-immediate"), full_page=True)

    await expect(page.locator("#job-state")).to_have_text("done", timeout=60_000)
    await expect(page.locator("#job-pct")).to_have_text("100 %")
    await expect(page.locator("#job-progress")).to_have_attribute("aria-valuenow", "100")
    await expect(page.locator("#job-count")).to_have_text(f"{total} / {total} companies")
    last_id = int((await page.locator("#job-id").inner_text()).lstrip("#"))
    assert last_id > job_id  # it followed the continuation jobs to the last one
    await expect(page).to_have_url(re.compile(rf"\?job={last_id}$"))
    with psycopg.connect(dev_immediate.database_url) as conn:
        chain = conn.execute(
            "SELECT job_id, status, processed, total FROM background_jobs ORDER BY job_id"
        ).fetchall()
    assert [c[0] for c in chain][0] == job_id and chain[-1][0] == last_id
    assert all(c[1] == "done" and c[2] == c[3] for c in chain), chain
    assert sum(c[2] for c in chain) == total
    # The finished job refreshed the leads list with the newly scored companies: the live
    # ones by default, every one with "include companies that are not live".
    await expect(page.locator("#leads-status")).to_have_text(f"{live} leads, best first")
    await page.locator("#show-all").check()
    await expect(page.locator("#leads-status")).to_have_text(f"{total} leads, best first")
    await page.locator("#show-all").uncheck()
    await page.screenshot(path=shot("05-job-done-with-leads"), full_page=True)

    await page.reload()
    await expect(page.locator("#job-state")).to_have_text("done")
    await expect(page.locator("#job-id")).to_have_text(f"#{last_id}")
    await expect(page.locator("#job-pct")).to_have_text("100 %")
    await expect(page.locator("#job-count")).to_contain_text("in this job")
    await expect(page.locator("#job-fill")).to_have_attribute("style", re.compile("width: 100%"))
    await page.screenshot(path=shot("06-job-after-reload"), full_page=True)


async def test_queue_under_nightly_shows_the_run_time_and_runs_now(
    dev: Served, context: BrowserContext, shot: Callable[[str], str]
) -> None:
    page = await context.new_page()
    await page.goto(f"{dev.url}/app/")
    box = page.get_by_role("searchbox", name="Industries")
    await box.fill("bakery")
    await expect(page.get_by_role("button", name="Queue these")).to_be_enabled()
    total = int((await page.locator("#total").inner_text()).replace(",", ""))
    live = int((await page.locator("#live").inner_text()).replace(",", ""))
    await box.press("Enter")
    await expect(page).to_have_url(re.compile(r"\?job=\d+$"))
    job_id = int(page.url.rsplit("=", 1)[1])
    await expect(page.locator("#job-state")).to_have_text("queued")
    # JOBS_START=nightly (the default): the card says when the scheduled run takes it.
    when = page.locator("#job-when")
    await expect(when).to_contain_text("Runs at the next scheduled run, 02:00")
    await expect(when).to_contain_text("(Asia/Singapore), in ")
    await expect(page.locator("#job-count")).to_have_text(f"0 / {total:,} companies")
    run_now = page.get_by_role("button", name="Run now")
    await expect(run_now).to_be_visible()
    await page.screenshot(path=shot("04-job-queued-nightly"), full_page=True)

    await run_now.click()  # POST /jobs/{id}/run: the server's worker takes it now
    await expect(page.locator("#job-state")).to_have_text("done", timeout=60_000)
    await expect(page.locator("#job-id")).to_have_text(f"#{job_id}")
    await expect(run_now).to_be_hidden()
    await expect(page.locator("#job-count")).to_have_text(f"{total} / {total} companies")
    await expect(page.locator("#leads-status")).to_have_text(f"{live} leads, best first")
    with psycopg.connect(dev.database_url) as conn:
        fires = conn.execute("SELECT count(*) FROM scheduler_fires").fetchone()
        row = conn.execute(
            "SELECT status, processed, released FROM background_jobs WHERE job_id = %s",
            (job_id,),
        ).fetchone()
    assert row == ("done", total, True)
    assert fires == (1,)  # only the start-up catch-up's fire: the job did not wait for one
    await page.screenshot(path=shot("05-job-run-now-done"), full_page=True)


# Scroll the list like a user, one viewport at a time, ``steps`` times; after each step wait
# for the list's render (the scroll handler's animation frame) and any page load, and report
# the rows in the DOM. Batched so a 10k-row walk is a few hundred round trips, not thousands.
SCROLL_JS = """
async ([steps, first]) => {
  const vp = document.getElementById("leads");
  const rendered = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const out = [];
  for (let i = 0; i < steps; i++) {
    if (!(first && i === 0)) vp.scrollTop = vp.scrollTop + vp.clientHeight;
    await rendered();
    if (vp.dataset.loading === "true") {
      const t0 = performance.now();
      while (vp.dataset.loading === "true" && performance.now() - t0 < 30000) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await rendered();
    }
    const rows = [...document.querySelectorAll(".row")];
    const state = {
      rows: rows.map((r) => [Number(r.dataset.index), Number(r.dataset.companyId)]),
      atEnd: vp.scrollTop + vp.clientHeight >= vp.scrollHeight - 2,
      done: vp.dataset.done === "true",
      loading: vp.dataset.loading === "true",
      scrollTop: vp.scrollTop,
      scrollHeight: vp.scrollHeight,
    };
    out.push(state);
    if (state.done && state.atEnd && !state.loading) break;
  }
  return out;
}
"""


async def test_virtual_list_scrolls_10k_leads_with_few_rows_in_the_dom(
    many_leads: tuple[Served, list[int]], context: BrowserContext, shot: Callable[[str], str]
) -> None:
    served, expected = many_leads
    page = await context.new_page()
    await page.goto(f"{served.url}/app/")
    await expect(page.locator("#leads .row").first).to_be_visible()
    await page.screenshot(path=shot("07-leads-top"), full_page=True)
    by_index: dict[int, int] = {}
    steps = 0
    max_rows = 0
    state: dict[str, Any] = {}
    while not (state.get("done") and state.get("atEnd") and not state.get("loading")):
        batch = await page.evaluate(SCROLL_JS, [25, steps == 0])
        for state in batch:
            steps += 1
            rows = state["rows"]
            max_rows = max(max_rows, len(rows))
            info = {k: v for k, v in state.items() if k != "rows"}
            assert 0 < len(rows) < 200, (steps, len(rows), info)
            for index, company_id in rows:
                assert by_index.setdefault(index, company_id) == company_id, "a row moved"
        if 400 <= steps < 425:
            await page.screenshot(path=shot("08-leads-mid-scroll"), full_page=True)
        assert steps < 5_000, state
    await page.screenshot(path=shot("09-leads-end"), full_page=True)
    assert sorted(by_index) == list(range(len(expected))), "a row was never rendered"
    ids = [by_index[i] for i in range(len(expected))]
    assert ids == expected  # every lead exactly once, best first
    await expect(page.locator("#leads .list-end")).to_have_text(
        f"End of list · {len(expected):,} leads"
    )
    await expect(page.locator("#leads-status")).to_have_text(f"{len(expected):,} leads, best first")
    assert max_rows < 60, max_rows

    # Keyboard: the list is focusable and Home/End/arrows move the active row.
    await page.locator("#leads").focus()
    await page.keyboard.press("Home")
    await expect(page.locator("#leads .row.active")).to_have_attribute("data-index", "0")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    await expect(page.locator("#leads .row.active")).to_have_attribute("data-index", "2")
    await expect(page.locator("#leads")).to_have_attribute("aria-activedescendant", "lead-2")
    # The selected lead shows in full below the list: UEN, status, address, whole rationale.
    detail = page.locator("#lead-detail")
    await expect(detail).to_be_visible()
    await expect(detail).to_contain_text(
        "fit 45 (primary 10711 seeded) · live · annual return 2025-04 +12 · 3 officers +3"
        " · est. 2009 +10 · local company +8 · full address +5"
    )
    await expect(detail).to_contain_text("UEN")
    await expect(detail).to_contain_text("Address")
    await page.screenshot(path=shot("10-leads-keyboard"), full_page=True)
    # The saved searches are offered as a filter, with their counts.
    await expect(page.locator("#search-pick option")).to_have_count(2)
    await expect(page.locator("#search-pick option").nth(1)).to_contain_text("seeded")

    # The bucket filter reloads the list with only that bucket.
    await page.get_by_text("High", exact=True).click()
    await expect(page.locator("#leads .row").first).to_be_visible()
    await expect(page.locator("#leads-status")).to_contain_text("leads loaded")
    buckets = await page.locator("#leads .row").evaluate_all(
        "rows => [...new Set(rows.map(r => r.className))]"
    )
    assert buckets == ["row bucket-high"] or set(buckets) <= {
        "row bucket-high",
        "row bucket-high active",
    }, buckets
    await page.screenshot(path=shot("11-leads-high-bucket"), full_page=True)


async def test_token_field_when_auth_is_on(
    auth_server: Served, context: BrowserContext, shot: Callable[[str], str]
) -> None:
    page = await context.new_page()
    await page.goto(f"{auth_server.url}/app/")
    token_box = page.get_by_label("API token")
    await expect(token_box).to_be_visible()
    await expect(page.locator("#leads .empty.error")).to_contain_text("Sign-in needed")
    await page.screenshot(path=shot("12-auth-needs-token"), full_page=True)
    token = jwt.encode(
        {"sub": "sales@acme", "tenant_id": "acme", "exp": int(time.time()) + 3600},
        SECRET,
        algorithm="HS256",
    )
    await token_box.fill(token)
    await token_box.press("Enter")
    await expect(page.locator("#leads-status")).to_have_text("30 leads, best first")
    assert await page.evaluate("localStorage.getItem('icp.token')") == token
    await page.get_by_role("searchbox", name="Industries").fill("bakery")
    await expect(page.get_by_role("button", name="Queue these")).to_be_enabled()
    await page.reload()
    await expect(page.locator("#leads-status")).to_have_text("30 leads, best first")
    await page.screenshot(path=shot("13-auth-with-token"), full_page=True)
    # Download CSV: off until a search is chosen, then the file comes with the page's token.
    button = page.get_by_role("button", name="Download CSV")
    await expect(button).to_be_disabled()
    await page.locator("#search-pick").select_option(index=1)
    await expect(button).to_be_enabled()
    async with page.expect_download() as info:
        await button.click()
    download = await info.value
    name = download.suggested_filename
    assert name.startswith("leads-") and name.endswith(".csv"), name
    text = Path(await download.path()).read_text(encoding="utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("rank,name,uen,score,bucket") and len(lines) == 31, lines[:3]
    await expect(page.locator("#leads-status")).to_have_text("CSV downloaded.")
