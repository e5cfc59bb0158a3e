"""Leads paging at depth, the search preview and the routes the UI polls, through
``langgraph dev``.

On ``--rows`` generated staging rows, every staging row becomes a company and a scored
lead of tenant ``default`` (``harness.ensure_leads``). Then, on one ``langgraph dev``:

* ``GET /leads?limit=50`` at depth 1, 10k, 100k and 500k (the cursor for a depth is built
  untimed from the key at that position), interleaved; beside it the same page's SQL by
  keyset and by ``OFFSET`` (the contrast the product avoids), on a direct connection;
* ``GET /icp/preview?q=…`` over the phrase mix (typos included) vs ``GET /ok``, interleaved;
* the routes the product owns, each p95 < 300 ms: the preview, the page's first paint
  (``/app/``, its script and style, ``/icp/searches``, the first ``/leads`` page), a
  filtered ``/leads`` page, ``GET /jobs/{id}`` (what the job card polls) and ``GET /jobs``.

``python -m bench.leads [--rows 1000000] [--repeats 30]``
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from bench import harness as h
from bench.report import goal_line, stats_table, table, write_section

TITLE_LEADS = "Leads paging at depth"
TITLE_PREVIEW = "Search preview vs /ok"
TITLE_ROUTES = "Routes the product owns"
DEPTHS = (1, 10_000, 100_000, 500_000)  # those below the lead count are measured
LIMIT = 50
TENANT = "default"
ROUTE_GOAL_MS = 300
FILTERED = {"limit": LIMIT, "bucket": "medium", "industry_code": "46"}  # a card's filters
KEYSET_SQL = (
    "SELECT ls.company_id, c.name, ls.score FROM lead_scores ls"
    " JOIN companies c ON c.company_id = ls.company_id WHERE ls.tenant_id = %s"
    " AND (ls.score, ls.company_id) < (%s::smallint, %s::bigint)"
    " ORDER BY ls.score DESC, ls.company_id DESC LIMIT %s"
)
OFFSET_SQL = (  # the contrast: what the product never does
    "SELECT ls.company_id, c.name, ls.score FROM lead_scores ls"
    " JOIN companies c ON c.company_id = ls.company_id WHERE ls.tenant_id = %s"
    " ORDER BY ls.score DESC, ls.company_id DESC OFFSET %s LIMIT %s"
)


def get(http: httpx.Client, path: str, **params: Any) -> Any:
    """GET ``path``; assert a 200; return the JSON body (or the text)."""
    r = http.get(path, params=params)
    assert r.status_code == 200, (path, r.status_code, r.text[:200])
    return r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text


def depth_cases(
    url: str, http: httpx.Client, conn: psycopg.Connection, depths: list[int]
) -> dict[str, h.Case]:
    """Return per depth three cases: /leads over HTTP, its keyset SQL and the OFFSET SQL."""
    from api.pagination import encode_cursor, scope_of

    scope = scope_of(TENANT, bucket=None, industry_code=None, search_id=None, status="all")
    cases: dict[str, h.Case] = {}
    for depth in depths:
        key = (101, 0, 0) if depth == 1 else h.fetch_one(
            url, "SELECT score, company_id, search_id FROM lead_scores WHERE tenant_id = %s"
            " ORDER BY score DESC, company_id DESC, search_id DESC OFFSET %s LIMIT 1",
            (TENANT, depth - 2))  # fmt: skip
        params: dict[str, Any] = {"limit": LIMIT, "status": "all"}
        if depth > 1:
            position = dict(zip(("score", "company_id", "search_id"), key, strict=True))
            params["cursor"] = encode_cursor("leads", position, scope=scope)
        cases[f"http {depth}"] = page(http, params)
        cases[f"keyset {depth}"] = query(conn, KEYSET_SQL, (TENANT, key[0], key[1], LIMIT))
        cases[f"offset {depth}"] = query(conn, OFFSET_SQL, (TENANT, depth - 1, LIMIT))
    return cases


def page(http: httpx.Client, params: dict[str, Any]) -> h.Case:
    """Return a case asking ``/leads`` with ``params``."""
    return lambda _: get(http, "/leads", **params)


def query(conn: psycopg.Connection, sql: str, params: tuple[Any, ...]) -> h.Case:
    """Return a case running ``sql`` on a direct connection."""
    return lambda _: conn.execute(sql, params).fetchall()


def preview(http: httpx.Client) -> h.Case:
    """Return a case previewing the phrase mix in turn (round ``i`` asks phrase ``i``)."""
    return lambda i: get(http, "/icp/preview", q=h.PHRASES[i % len(h.PHRASES)])


def route_cases(url: str, http: httpx.Client) -> dict[str, h.Case]:
    """Return the routes the UI calls, each a case (a job of the tenant is inserted once)."""
    job = h.fetch_one(url, "INSERT INTO background_jobs (tenant_id, job_type, status,"
                      " request_key, processed, total, attempts, started_at, ended_at) VALUES"
                      " (%s, 'staging_upsert', 'done', md5(random()::text), 1000, 1000, 1,"
                      " now(), now()) RETURNING job_id", (TENANT,))[0]  # fmt: skip

    def first_paint(_: int) -> None:
        for path in ("/app/", "/app/app.js", "/app/app.css", "/icp/searches"):
            get(http, path)
        page(http, {"limit": LIMIT})(0)

    return {
        "/icp/preview (the phrase mix)": preview(http),
        "first paint of /app/ (page, script, style, searches, leads)": first_paint,
        "/leads filtered (bucket, industry)": page(http, FILTERED),
        "/icp/searches (the page's search list)": lambda _: get(http, "/icp/searches"),
        "GET /jobs/{id} (the job card's poll)": lambda _: get(http, f"/jobs/{job}"),
        "GET /jobs (the page's job list)": lambda _: get(http, "/jobs"),
    }


def samples(server: str, repeats: int, make: Callable[[httpx.Client], dict[str, h.Case]]) -> Any:
    """Interleave the cases ``make`` builds on a client of ``server``; return samples."""
    with httpx.Client(base_url=server, timeout=60) as http:
        return h.interleave(make(http), repeats, warmup=2)


@h.benchmark("leads", repeats=30)
def run(rows: int, repeats: int) -> None:
    """Three sections: paging at depth, preview vs /ok, the routes the UI calls."""
    url = h.generated_database(rows)
    leads = h.ensure_leads(url, TENANT)
    depths = [d for d in DEPTHS if d < leads - LIMIT]
    with h.dev_server(url) as srv, psycopg.connect(url) as conn:
        h.log("leads at depth")
        res = {k: h.Stats.of(v) for k, v in samples(
            srv.url, repeats, lambda http: depth_cases(url, http, conn, depths)).items()}
        h.log("preview vs /ok")
        prev = {k: h.Stats.of(v) for k, v in samples(srv.url, repeats * 2, lambda http: {
            "/icp/preview": preview(http), "/ok": lambda _: get(http, "/ok")}).items()}
        h.log("the routes the UI calls")
        routes = {k: h.Stats.of(v) for k, v in samples(
            srv.url, repeats, lambda http: route_cases(url, http)).items()}  # fmt: skip
    pg = h.server_version(url)
    deep = h.ratio(res[f"http {depths[-1]}"], res["http 1"])
    write_section(TITLE_LEADS, "\n".join([
        f"{leads:,} scored leads of one tenant (scores 0\u2013100: heavy ties); pages of {LIMIT}; "
        "depths interleaved. HTTP through `langgraph dev`; SQL columns on a direct connection.",
        "",
        table(["depth", "/leads p50 ms", "/leads p95 ms", "keyset SQL p50 ms",
               "OFFSET SQL p50 ms"],
              [[d, res[f"http {d}"].p50, res[f"http {d}"].p95, res[f"keyset {d}"].p50,
                res[f"offset {d}"].p50] for d in depths]),
        "",
        goal_line(f"/leads depth {depths[-1]:,} / page 1 (p50)", deep, at_most=1.5)
        + f". OFFSET at the same depth: "
        f"{h.ratio(res[f'offset {depths[-1]}'], res['offset 1']):,.0f}\u00d7 its page 1.",
    ]), pg_version=pg)  # fmt: skip
    write_section(TITLE_PREVIEW, "\n".join([
        f"`GET /icp/preview?q=` over the {len(h.PHRASES)}-phrase mix (narrow, broad, typos, "
        f"several industries; extract, resolve, exact count, sample of 20) on {rows:,} staging "
        "rows vs the server's `GET /ok`, interleaved.",
        "",
        stats_table(prev),
        "",
        goal_line("p95 preview / p95 /ok", prev["/icp/preview"].p95 / prev["/ok"].p95,
                  at_most=10, digits=1) + ".",
    ]), pg_version=pg)  # fmt: skip
    worst = max(routes, key=lambda k: routes[k].p95)
    write_section(TITLE_ROUTES, "\n".join([
        f"What the page and the cards call, through `langgraph dev` on {rows:,} staging rows "
        f"and {leads:,} scored leads, interleaved. None of these waits for the dev runtime's "
        "run queue (that is the chat's `/runs` only: see the chat sections).",
        "",
        stats_table(routes),
        "",
        goal_line(f"Slowest route p95 ({worst.split(' (')[0]})", routes[worst].p95,
                  at_most=ROUTE_GOAL_MS, unit="ms", digits=1) + ".",
    ]), pg_version=pg)  # fmt: skip


if __name__ == "__main__":
    h.cli(run)
