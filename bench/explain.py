"""Query plans of the hot queries on a million-row registry, written to docs/query-plans.md.

Builds (or reuses, when it already holds enough rows) the scratch database
``icp_bench_explain``: a copy of the generated ``--rows`` database (``harness``), one
company and one ``lead_scores`` row per registry row for one tenant
(``harness.ensure_leads``), the real ``upsert_scored`` run for the manufacturing ICP
(section C, ``batch_source`` batches), and a job history in ``background_jobs``. Then every
case of ``bench.explain_cases`` (each named block of ``db/queries/*.sql`` it can bind, plus
the leads page) runs under ``EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING ON)`` twice: the
second, warm run is recorded; writes run inside a transaction that is rolled back.

The server is the embedded PostgreSQL 18, or ``BENCH_DATABASE_URL``; each server major
version gets its own section of docs/query-plans.md, so running it on both keeps both.

``python -m bench.explain [--rows 1000000] [--rebuild]``
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time

import psycopg

from bench import harness as h
from bench.explain_cases import BATCH, DEEP, HEAD_LIMIT, TENANT, Case, Context, cases
from bench.report import update_doc
from db.companies import IcpCode, ensure_search, row_key, upsert_scored

DOC = h.ROOT / "docs" / "query-plans.md"
DB_NAME = "icp_bench_explain"
SEED_BATCHES = 10  # real batch_source upserts for the manufacturing ICP while seeding
EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING ON) "
MANUFACTURING = "SELECT code, title FROM ssic_ref WHERE section = 'C' AND level = 'subclass'"
_HEADER = """# Query plans

Written by `python -m bench.explain` (also run by `make bench`); do not edit by hand.
Each section holds one server's plans, from `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF,
TIMING ON)` on the scratch database `icp_bench_explain`: one million generated ACRA rows
(`bench.gen`, the sample's skewed SSIC mix), companies and one tenant's `lead_scores` for
every row, a job history. Every statement ran twice; the second (warm) run is shown.
Statements that write ran inside a transaction that was rolled back. Long array
literals (the 355 manufacturing codes) are abbreviated in the plans shown.
"""
SEED_JOBS = (  # 200k finished jobs over 50 tenants, 40 queued and 10 running ones
    "INSERT INTO background_jobs (tenant_id, job_type, status, request_key, processed, total,"
    " attempts, created_at, started_at, ended_at, updated_at) SELECT 'tenant-' || (i % 50),"
    " 'staging_upsert', (ARRAY['done', 'done', 'done', 'error', 'cancelled'])[1 + i % 5],"
    " md5(i::text), 1000, 1000, 1, t, t, t + interval '1 minute', t"
    " FROM generate_series(1, 200000) i, LATERAL (SELECT now() - make_interval(mins => i) AS t) x",
    "INSERT INTO background_jobs (tenant_id, job_type, status, request_key, total, run_after,"
    " released) SELECT 'tenant-' || i, 'staging_upsert', 'queued', md5('q' || i), 1000,"
    " now() + CASE WHEN i % 2 = 0 THEN interval '1 hour' ELSE interval '0' END, i % 4 = 0"
    " FROM generate_series(1, 40) i",
    "INSERT INTO background_jobs (tenant_id, job_type, status, request_key, total, attempts,"
    " lease_owner, lease_until, started_at) SELECT 'tenant-' || i, 'staging_upsert', 'running',"
    " md5('r' || i), 1000, 1, 'runner-' || i, now() + interval '1 minute', now()"
    " FROM generate_series(1, 10) i",
)


def ensure_database(rows: int, *, rebuild: bool = False) -> str:
    """Return the URL of the seeded database, building it unless a big enough one exists."""
    url = h.with_dbname(h.admin_url(), DB_NAME)
    if not rebuild:
        try:
            staging, leads, jobs = h.fetch_one(
                url, "SELECT (SELECT count(*) FROM staging_acra_companies), (SELECT count(*)"
                " FROM lead_scores WHERE tenant_id = %s), (SELECT count(*) FROM background_jobs)",
                (TENANT,))  # fmt: skip
            if staging >= rows and leads >= rows and jobs > 0:
                h.log(f"reusing {DB_NAME}: {staging:,} staging rows, {leads:,} lead scores")
                return url
        except psycopg.OperationalError:
            pass  # no such database yet
    h.log(f"building {DB_NAME} from the {rows:,}-row generated database")
    t0 = time.perf_counter()
    url = h.database_copy(h.generated_database(rows), DB_NAME)
    h.ensure_leads(url, TENANT)
    asyncio.run(seed_upserts(url))
    h.execute(url, *SEED_JOBS, "VACUUM ANALYZE")
    h.log(f"  seeded in {time.perf_counter() - t0:.0f} s")
    return url


async def seed_upserts(url: str) -> None:
    """Run the product's own head and batch upserts for the manufacturing ICP."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        found = await (await conn.execute(MANUFACTURING)).fetchall()
        codes = [IcpCode(str(c), 1.0, "manufacturing", str(t)) for c, t in found]
        search = await ensure_search(conn, tenant_id=TENANT, terms=["manufacturing"], codes=codes)
        await upsert_scored(conn, "head_source", codes, tenant_id=TENANT, search_id=search,
                            limit=HEAD_LIMIT)  # fmt: skip
        after = ("", "")
        for _ in range(SEED_BATCHES):
            done = await upsert_scored(conn, "batch_source", codes, tenant_id=TENANT,
                                       search_id=search, limit=BATCH, after=after)  # fmt: skip
            if not done:
                break
            after = max(row_key(r) for r in done)


def context(url: str) -> Context:
    """Read the parameters the queries are bound with."""
    with psycopg.connect(url) as conn:
        found = conn.execute(MANUFACTURING + " ORDER BY code").fetchall()
    codes = [IcpCode(str(c), 1.0, "manufacturing", str(t)) for c, t in found]
    names = [c.code for c in codes]
    (n,) = h.fetch_one(url, "SELECT coalesce(sum(n), 0) FROM staging_ssic_counts"
                       " WHERE code = ANY(%s)", (names,))  # fmt: skip
    one = {
        "mid": ("SELECT primary_ssic_code, uen FROM staging_acra_companies WHERE primary_ssic_code"
                " = ANY(%s) ORDER BY 1, 2 OFFSET %s LIMIT 1", (names, int(n) // 2)),
        "running": ("SELECT job_id, lease_owner FROM background_jobs WHERE status = 'running'"
                    " ORDER BY job_id LIMIT 1", None),
        "queued": ("SELECT job_id FROM background_jobs WHERE status = 'queued' ORDER BY job_id"
                   " LIMIT 1", None),
        "leads": ("SELECT count(*) FROM lead_scores WHERE tenant_id = %s", (TENANT,)),
        "deep": ("SELECT score, company_id FROM lead_scores WHERE tenant_id = %s ORDER BY score"
                 " DESC, company_id DESC OFFSET least(%s, (SELECT count(*) / 2 FROM lead_scores"
                 " WHERE tenant_id = %s)) LIMIT 1", (TENANT, DEEP - 1, TENANT)),
        "search": ("SELECT search_id FROM lead_scores WHERE tenant_id = %s GROUP BY 1"
                   " ORDER BY count(*) DESC LIMIT 1", (TENANT,)),  # the largest search
    }  # fmt: skip
    got = {k: h.fetch_one(url, query, params) for k, (query, params) in one.items()}
    return Context(
        codes=codes, matching=int(n), mid_key=(str(got["mid"][0]), str(got["mid"][1])),
        running_job=(int(got["running"][0]), str(got["running"][1])),
        queued_job=int(got["queued"][0]), deep_key=(int(got["deep"][0]), int(got["deep"][1])),
        leads=int(got["leads"][0]), search_id=int(got["search"][0]),
    )  # fmt: skip


_RE = {name: re.compile(pattern) for name, pattern in {
    "index": r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)",
    "seq": r"Seq Scan on (\w+)",
    "sort": r"Sort Method: ([\w-]+(?: [\w-]+)?)",
    "exec": r"Execution Time: ([\d.]+) ms",
    "buffers": r"(?:Index Scan|Index Only Scan|Bitmap Heap Scan)[^\n]*staging_acra_companies"
    r"[^\n]*\n(?:(?!\s*->)[^\n]*\n)*?\s*Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?",
    "rows": r"(?:Index Scan|Index Only Scan|Seq Scan|Bitmap Heap Scan)[^\n]*"
    r"staging_acra_companies[^\n]*rows=([\d.]+) loops=(\d+)",
    "array": r"'\{([^'{}]{120,})\}'",
}.items()}  # fmt: skip


def explain(conn: psycopg.Connection, case: Case) -> tuple[str, float]:
    """Run the case under EXPLAIN ANALYZE twice; return the second plan and its time (ms)."""
    text = ""
    for _ in range(2):
        with conn.transaction(force_rollback=case.writes):
            rows = conn.execute(EXPLAIN + case.sql, case.params, prepare=False).fetchall()
        text = "\n".join(str(r[0]) for r in rows)
    m = _RE["exec"].search(text)
    return text, float(m.group(1)) if m else float("nan")


def verdict(case: Case, plan: str, ctx: Context) -> str:
    """One line: the indexes used, sequential scans and sorts, early stop on staging."""
    indexes, seqs = sorted(set(_RE["index"].findall(plan))), sorted(set(_RE["seq"].findall(plan)))
    sorts = sorted(set(_RE["sort"].findall(plan)))
    parts = [f"indexes: {', '.join(indexes)}" if indexes else "no index"]
    parts += [f"seq scan: {', '.join(seqs)}"] if seqs else []
    parts += [f"sort: {', '.join(sorts)}"] if sorts else []
    staging = [float(r) * int(n) for r, n in _RE["rows"].findall(plan)]
    if staging and case.name != "count_staging_after":
        read = int(sum(staging))
        pages = sum(int(hit or 0) + int(rd or 0) for hit, rd in _RE["buffers"].findall(plan))
        early = read <= max(2 * BATCH, ctx.matching // 10)
        wasted = pages > 5 * read + 100  # index entries walked and discarded by the quals
        how = ("NO early stop (reads/sorts the matches)" if not early else
               "stops at the limit, but walks the index entries before the keyset"
               " (O(position) per batch)" if wasted else "early stop")  # fmt: skip
        parts.append(f"staging rows returned {read:,} of {ctx.matching:,} matching, "
                     f"{pages:,} buffers: {how}")  # fmt: skip
    return "; ".join(parts)


def shorten(plan: str) -> str:
    """Abbreviate long array literals in a plan (the 355 codes) to their ends and size."""

    def one(m: re.Match[str]) -> str:
        items = m.group(1).split(",")
        return f"'{{{','.join(items[:3])},…,{items[-1]}}}' /* {len(items)} elements */"

    return _RE["array"].sub(one, plan)


def render(server: str, url: str, results: list[tuple[Case, str, float, str]],
           skipped: list[str], ctx: Context) -> str:  # fmt: skip
    """Return the markdown section of one server."""
    lines = [
        f"## {server}", "",
        f"`{h.server_version(url)}`; generated "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `python -m bench.explain`. "
        f"Staging holds the manufacturing ICP's {ctx.matching:,} matching rows among the "
        f"million; the tenant has {ctx.leads:,} lead scores.", "",
        "| query | execution ms | verdict |", "|---|---|---|",
        *(f"| {c.name} | {ms:,.2f} | {v} |" for c, _, ms, v in results), "",
        f"Skipped (no parameters built for them): {', '.join(skipped) or 'none'}.",
    ]  # fmt: skip
    for case, plan, ms, v in results:
        rolled = " (rolled back)." if case.writes else "."
        lines += ["", f"### {case.name} ({server})", "",
                  f"Parameters: {case.shown}. Execution time {ms:,.2f} ms{rolled}", "",
                  f"Verdict: {v}.", "", "```", shorten(plan), "```"]  # fmt: skip
    return "\n".join(lines) + "\n"


def benchmark(rows: int, *, rebuild: bool = False) -> str:
    """Build or reuse the database, explain every case, write the doc; return the section."""
    url = ensure_database(rows, rebuild=rebuild)
    ctx = context(url)
    todo, skipped = cases(ctx)
    results = []
    with psycopg.connect(url, autocommit=True) as conn:
        major = int(h.fetch_one(url, "SHOW server_version_num")[0]) // 10000
        for case in todo:
            plan, ms = explain(conn, case)
            results.append((case, plan, ms, verdict(case, plan, ctx)))
            h.log(f"  {case.name}: {ms:,.2f} ms")
    body = render(f"PostgreSQL {major}", url, results, skipped, ctx)
    if DOC.exists() and not DOC.read_text(encoding="utf-8").startswith("# Query plans"):
        DOC.unlink()
    update_doc(DOC, f"PostgreSQL {major}", body, _HEADER)
    return body


@h.benchmark("explain", repeats=2)
def run(rows: int, repeats: int) -> None:
    """Registered entry: query plans at ``bench.run``'s rows (at least one million)."""
    benchmark(max(rows, 1_000_000))


def main(argv: list[str] | None = None) -> int:
    """Command line of the query-plans benchmark."""
    ap = argparse.ArgumentParser(prog="python -m bench.explain", description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rebuild", action="store_true", help="rebuild the database even if big")
    args = ap.parse_args(argv)
    print(benchmark(args.rows, rebuild=args.rebuild).split("\n### ")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
