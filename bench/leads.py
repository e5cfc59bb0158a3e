"""Leads paging at depth and the search preview, through ``langgraph dev``.

On ``--rows`` generated staging rows, every staging row becomes a company and a scored
lead of tenant ``default`` (scores 0-100, so ties are everywhere). Then, on one
``langgraph dev`` server:

* ``GET /leads?limit=50`` at depth 1, 10k, 100k and 500k (the cursor for a depth is built
  untimed from the key at that position), interleaved; beside it the same page's SQL by
  keyset and by ``OFFSET`` (the contrast the product avoids), timed on a direct connection;
* ``GET /icp/preview?q=…`` for a rotation of industries vs ``GET /ok`` (the server's own
  trivial route), interleaved.

``python -m bench.leads [--rows 1000000] [--repeats 30]``
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import psycopg

from bench.common import (
    RunOptions,
    Stats,
    bench_main,
    generated_database,
    goal_line,
    log,
    ratio,
    register,
    server_version,
    write_section,
)

TITLE_LEADS = "Leads paging at depth"
TITLE_PREVIEW = "Search preview vs /ok"
DEFAULT_ROWS = 1_000_000
DEFAULT_REPEATS = 30
DEPTHS = (1, 10_000, 100_000, 500_000)  # those below the lead count are measured
LIMIT = 50
DB_NAME = "icp_bench_gen"
TENANT = "default"
QUERIES = ["manufacturing", "bakery", "restaurants", "logistics", "software development"]


def ensure_leads(url: str, rows: int) -> int:
    """Make every staging row a company with a score for TENANT; return the lead count."""
    with psycopg.connect(url, autocommit=True) as conn:
        have = conn.execute(
            "SELECT count(*) FROM lead_scores WHERE tenant_id = %s", (TENANT,)
        ).fetchone()
        if have and int(have[0]) >= rows:
            return int(have[0])
        log(f"building {rows:,} companies and scored leads")
        conn.execute("TRUNCATE companies, lead_scores CASCADE")
        conn.execute(
            "INSERT INTO companies (uen, name, industry_code, industry_norm, incorporation_year,"
            " is_live, entity_type) SELECT s.uen, s.entity_name, s.primary_ssic_code, r.title,"
            " extract(year FROM s.registration_incorporation_date)::int, s.is_live,"
            " s.entity_type_description FROM staging_acra_companies s"
            " LEFT JOIN ssic_ref r ON r.code = s.primary_ssic_code"
        )
        conn.execute(
            "INSERT INTO lead_scores (tenant_id, company_id, score, bucket, rationale)"
            " SELECT %s, company_id, s, CASE WHEN s >= 70 THEN 'high' WHEN s >= 45 THEN 'medium'"
            " ELSE 'low' END, 'bench' FROM (SELECT company_id,"
            " (abs(hashtext(uen)) %% 101)::smallint AS s FROM companies) x",
            (TENANT,),
        )
        conn.execute("VACUUM ANALYZE companies")
        conn.execute("VACUUM ANALYZE lead_scores")
        row = conn.execute(
            "SELECT count(*) FROM lead_scores WHERE tenant_id = %s", (TENANT,)
        ).fetchone()
        return int(row[0]) if row else 0


def cursors(url: str, depths: tuple[int, ...]) -> dict[int, tuple[str | None, tuple[int, int]]]:
    """Return per depth the /leads cursor and the key that starts that page."""
    from api.pagination import encode_cursor, scope_of

    scope = scope_of(TENANT, bucket=None, industry_code=None)
    out: dict[int, tuple[str | None, tuple[int, int]]] = {}
    with psycopg.connect(url) as conn:
        for depth in depths:
            if depth == 1:
                out[depth] = (None, (101, 0))
                continue
            row = conn.execute(
                "SELECT score, company_id FROM lead_scores WHERE tenant_id = %s"
                " ORDER BY score DESC, company_id DESC OFFSET %s LIMIT 1",
                (TENANT, depth - 2),
            ).fetchone()
            assert row, depth
            key = (int(row[0]), int(row[1]))
            position = {"score": key[0], "company_id": key[1]}
            out[depth] = (encode_cursor("leads", position, scope=scope), key)
    return out


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


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def measure_leads(
    server: str, url: str, repeats: int, depths: tuple[int, ...]
) -> dict[str, dict[int, Stats]]:
    """Time /leads over HTTP and the keyset/OFFSET SQL at each depth, interleaved."""
    marks = cursors(url, depths)
    samples: dict[str, dict[int, list[float]]] = {
        k: {d: [] for d in depths} for k in ("http", "keyset", "offset")
    }
    with httpx.Client(base_url=server, timeout=60) as http, psycopg.connect(url) as conn:
        for i in range(repeats + 2):
            for depth in depths if i % 2 == 0 else depths[::-1]:
                cursor, key = marks[depth]
                params: dict[str, Any] = {"limit": LIMIT}
                if cursor:
                    params["cursor"] = cursor

                def get(p: dict[str, Any] = params) -> None:
                    r = http.get("/leads", params=p)
                    assert r.status_code == 200 and len(r.json()["data"]) == LIMIT, r.text

                ms_http = _timed(get)
                ms_key = _timed(
                    lambda k=key: conn.execute(KEYSET_SQL, (TENANT, k[0], k[1], LIMIT)).fetchall()
                )
                ms_off = _timed(
                    lambda d=depth: conn.execute(OFFSET_SQL, (TENANT, d - 1, LIMIT)).fetchall()
                )
                if i >= 2:
                    samples["http"][depth].append(ms_http)
                    samples["keyset"][depth].append(ms_key)
                    samples["offset"][depth].append(ms_off)
    return {k: {d: Stats.of(v) for d, v in per.items()} for k, per in samples.items()}


def measure_preview(server: str, repeats: int) -> dict[str, Stats]:
    """Time /icp/preview (rotating industries) and /ok, interleaved."""
    samples: dict[str, list[float]] = {"preview": [], "ok": []}
    with httpx.Client(base_url=server, timeout=60) as http:
        for i in range(repeats * 2 + 5):
            q = QUERIES[i % len(QUERIES)]

            def preview(q: str = q) -> None:
                r = http.get("/icp/preview", params={"q": q})
                assert r.status_code == 200 and r.json()["total"] > 0, r.text

            def ok() -> None:
                assert http.get("/ok").status_code == 200

            pair = [("preview", preview), ("ok", ok)]
            for name, fn in pair if i % 2 == 0 else pair[::-1]:
                ms = _timed(fn)
                if i >= 5:
                    samples[name].append(ms)
    return {k: Stats.of(v) for k, v in samples.items()}


@register("leads")
def run(opts: RunOptions) -> None:
    """Benchmark entry point for bench.run."""
    from icp.devserver import start_server

    rows = opts.rows or DEFAULT_ROWS
    repeats = opts.repeats or DEFAULT_REPEATS
    url = generated_database(DB_NAME, rows)
    leads = ensure_leads(url, rows)
    depths = tuple(d for d in DEPTHS if d < leads - LIMIT)
    srv = start_server(url)
    try:
        log("leads at depth")
        res = measure_leads(srv.url, url, repeats, depths)
        log("preview vs /ok")
        prev = measure_preview(srv.url, repeats)
    finally:
        srv.stop()
    pg = server_version(url)
    http, key, off = res["http"], res["keyset"], res["offset"]
    deep = ratio(http[depths[-1]], http[1])
    lines = [
        f"{leads:,} scored leads of one tenant (scores 0\u2013100: heavy ties); pages of {LIMIT}; "
        "depths interleaved. HTTP through `langgraph dev`; SQL columns on a direct connection.",
        "",
        "| depth | /leads p50 ms | /leads p95 ms | keyset SQL p50 ms | OFFSET SQL p50 ms |",
        "|---|---|---|---|---|",
    ]
    for d in depths:
        lines.append(
            f"| {d:,} | {http[d].p50:,.1f} | {http[d].p95:,.1f} | {key[d].p50:,.2f} | "
            f"{off[d].p50:,.1f} |"
        )
    lines += [
        "",
        goal_line(f"/leads depth {depths[-1]:,} / page 1 (p50)", deep, at_most=1.5)
        + f". OFFSET at the same depth: {ratio(off[depths[-1]], off[1]):,.0f}\u00d7 its page 1.",
    ]
    write_section(TITLE_LEADS, "\n".join(lines), pg_version=pg)
    r = prev["preview"].p95 / prev["ok"].p95
    lines = [
        f"`GET /icp/preview?q=` rotating {', '.join(QUERIES)} (extract, resolve, exact count, "
        f"sample of 20) on {rows:,} staging rows vs the server's `GET /ok`, interleaved.",
        "",
        Stats.header(),
        prev["preview"].row("/icp/preview"),
        prev["ok"].row("/ok"),
        "",
        goal_line("p95 preview / p95 /ok", r, at_most=10, digits=1) + ".",
    ]
    write_section(TITLE_PREVIEW, "\n".join(lines), pg_version=pg)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    return bench_main(
        run, "python -m bench.leads", argv, rows=DEFAULT_ROWS, repeats=DEFAULT_REPEATS
    )


if __name__ == "__main__":
    raise SystemExit(main())
