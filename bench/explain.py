"""Query plans of the hot queries on a million-row registry, written to docs/query-plans.md.

Builds (or reuses, when it already holds enough rows) the scratch database
``icp_bench_explain``: ``--rows`` generated staging rows (``bench.gen.load_staging``), the
real ``upsert_scored`` run for the manufacturing ICP (section C, ``batch_source`` batches),
then one company and one ``lead_scores`` row per registry row for one tenant (a direct
``INSERT ... SELECT``), and a job history in ``background_jobs``. Then every named block
of ``db/queries/*.sql`` that it can bind parameters for, plus the leads page, runs under
``EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING ON)`` (twice: the second, warm run is
recorded; writes run inside a transaction that is rolled back).

The server is the embedded PostgreSQL 18, or ``BENCH_DATABASE_URL``; each server major
version gets its own section of docs/query-plans.md, so running it on both keeps both.

``python -m bench.explain [--rows 1000000] [--rebuild]``
"""

from __future__ import annotations

import argparse
import fcntl
import re
import sys
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from bench import gen
from bench.common import (
    OUT,
    ROOT,
    RunOptions,
    bench_admin_url,
    log,
    register,
    replace_section,
    run_async,
    scratch_database,
    server_version,
    with_dbname,
)
from db.companies import (
    FILTER_KEYS,
    IcpCode,
    ensure_search,
    icp_params,
    row_key,
    upsert_scored,
    with_source,
)
from db.queries import _all as all_blocks
from db.queries import q

DOC = ROOT / "docs" / "query-plans.md"
DB_NAME = "icp_bench_explain"
DEFAULT_ROWS = 1_000_000
TENANT = "bench-tenant"
SEED_BATCHES = 10  # real batch_source upserts for the manufacturing ICP while seeding
BATCH = 500  # STAGING_BATCH_SIZE default
HEAD_LIMIT = 10  # UPSERT_SYNC_LIMIT default
PAGE = 51  # a leads page of 50 plus one to know there is a next page
DEEP = 500_000  # the leads page at this depth
TERMS = (
    "manufacturing",
    "logistics",
    "restaurants",
    "software",
    "real estate",
    "construction",
    "wholesale",
    "it consulting",
    "accounting",
    "manufactoring",
)
EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING ON) "

LEADS_PAGE_FIRST = """SELECT ls.company_id, ls.score, ls.bucket
FROM lead_scores ls
WHERE ls.tenant_id = %(tenant_id)s
ORDER BY ls.score DESC, ls.company_id DESC
LIMIT 51"""
LEADS_PAGE_AFTER = """SELECT ls.company_id, ls.score, ls.bucket
FROM lead_scores ls
WHERE ls.tenant_id = %(tenant_id)s
  AND (ls.score, ls.company_id) < (%(after_score)s::smallint, %(after_id)s::bigint)
ORDER BY ls.score DESC, ls.company_id DESC
LIMIT 51"""

_HEADER = """# Query plans

Written by `python -m bench.explain` (also run by `make bench`); do not edit by hand.
Each section holds one server's plans, from `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF,
TIMING ON)` on the scratch database `icp_bench_explain`: one million generated ACRA rows
(`bench.gen`, the sample's skewed SSIC mix), companies and one tenant's `lead_scores` for
every row, a job history. Every statement ran twice; the second (warm) run is shown.
Statements that write ran inside a transaction that was rolled back. Long array
literals (the 355 manufacturing codes) are abbreviated in the plans shown.
"""


@dataclass(frozen=True)
class Context:
    """Parameters the hot queries are bound with, read from the seeded database."""

    codes: list[IcpCode]
    matching: int
    mid_key: tuple[str, str]
    running_job: tuple[int, str]
    queued_job: int
    deep_key: tuple[int, int]
    leads: int
    search_id: int


# --------------------------------------------------------------------------- seeding


def manufacturing(conn: psycopg.Connection) -> list[IcpCode]:
    """Return the manufacturing ICP: every SSIC 2020 section C subclass."""
    rows = conn.execute(
        "SELECT code, title FROM ssic_ref WHERE section = 'C' AND level = 'subclass' ORDER BY code"
    ).fetchall()
    return [IcpCode(str(c), 1.0, "manufacturing", str(t)) for c, t in rows]


def _counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM staging_acra_companies),"
            " (SELECT count(*) FROM lead_scores WHERE tenant_id = %s),"
            " (SELECT count(*) FROM background_jobs)",
            (TENANT,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def ensure_database(rows: int, *, rebuild: bool = False) -> str:
    """Return the URL of the seeded database, building it unless a big enough one exists."""
    from db.migrate import migrate
    from db.reference import load_reference

    admin = bench_admin_url()
    url = with_dbname(admin, DB_NAME)
    if not rebuild:
        try:
            migrate(url, after=load_reference)  # pending migrations only
            staging, leads, jobs = _counts(url)
            if staging >= rows and leads >= rows and jobs > 0:
                log(f"reusing {DB_NAME}: {staging:,} staging rows, {leads:,} lead scores")
                return url
        except psycopg.OperationalError:
            pass  # no such database yet
    log(f"building {DB_NAME} with {rows:,} staging rows")
    url = scratch_database(DB_NAME, admin_url=admin)
    t0 = time.perf_counter()
    gen.load_staging(url, rows)
    log(f"  staging loaded in {time.perf_counter() - t0:.0f} s")
    seed_upserts(url)
    seed_companies(url)
    seed_jobs(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    log(f"  seeded in {time.perf_counter() - t0:.0f} s")
    return url


def seed_upserts(url: str) -> None:
    """Run the product's own head and batch upserts for the manufacturing ICP."""

    async def go() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            async with conn.cursor() as cur:
                await cur.execute(
                    "SELECT code, title FROM ssic_ref WHERE section = 'C' AND level = 'subclass'"
                )
                codes = [
                    IcpCode(str(c), 1.0, "manufacturing", str(t)) for c, t in await cur.fetchall()
                ]
            search = await ensure_search(
                conn, tenant_id=TENANT, terms=["manufacturing"], codes=codes
            )
            await upsert_scored(
                conn, "head_source", codes, tenant_id=TENANT, search_id=search, limit=HEAD_LIMIT
            )
            after = ("", "")
            for _ in range(SEED_BATCHES):
                rows = await upsert_scored(
                    conn,
                    "batch_source",
                    codes,
                    tenant_id=TENANT,
                    search_id=search,
                    limit=BATCH,
                    after=after,
                )
                if not rows:
                    break
                after = max(row_key(r) for r in rows)

    run_async(go())


def seed_companies(url: str) -> None:
    """One company per registry row and a lead score for the tenant (bulk, not the upsert)."""
    with psycopg.connect(url, autocommit=True) as conn:
        t0 = time.perf_counter()
        conn.execute(
            "INSERT INTO companies (uen, name, industry_code, industry_norm, incorporation_date,"
            " incorporation_year, entity_status, is_live, entity_type, company_type, officers,"
            " postal_code, enriched_by, enriched_at)"
            " SELECT s.uen, s.entity_name, s.primary_ssic_code,"
            " initcap(s.primary_ssic_description),"
            " s.registration_incorporation_date,"
            " extract(year FROM s.registration_incorporation_date)::int,"
            " s.entity_status_description, s.is_live, s.entity_type_description,"
            " s.company_type_description, s.no_of_officers, s.postal_code, 'registry', now()"
            " FROM staging_acra_companies s ORDER BY s.uen"
            " ON CONFLICT (uen) DO NOTHING"
        )
        log(f"  companies in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        conn.execute(
            "INSERT INTO lead_scores (tenant_id, search_id, company_id, score, bucket, is_live,"
            " rationale, terms)"
            " SELECT %(t)s, (SELECT min(search_id) FROM icp_searches WHERE tenant_id = %(t)s),"
            " c.company_id, x.score,"
            " CASE WHEN x.score >= 85 THEN 'high' WHEN x.score >= 65 THEN 'medium' ELSE 'low' END,"
            " coalesce(c.is_live, false), 'bench seed', '{}'"
            " FROM companies c CROSS JOIN LATERAL"
            " (SELECT (abs(hashtext(c.uen)) %% 101)::smallint AS score) x"
            " ON CONFLICT (tenant_id, search_id, company_id) DO NOTHING",
            {"t": TENANT},
        )
        log(f"  lead scores in {time.perf_counter() - t0:.0f} s")


def seed_jobs(url: str) -> None:
    """A job history: 200k finished jobs over 50 tenants, some queued and running ones."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO background_jobs (tenant_id, job_type, status, request_key, processed,"
            " total, attempts, created_at, started_at, ended_at, updated_at)"
            " SELECT 'tenant-' || (i % 50), 'staging_upsert',"
            " (ARRAY['done', 'done', 'done', 'error', 'cancelled'])[1 + i % 5],"
            " md5(i::text), 1000, 1000, 1, t, t, t + interval '1 minute', t"
            " FROM generate_series(1, 200000) i,"
            " LATERAL (SELECT now() - make_interval(mins => i) AS t) x"
        )
        conn.execute(
            "INSERT INTO background_jobs (tenant_id, job_type, status, request_key, total,"
            " run_after, released)"
            " SELECT 'tenant-' || i, 'staging_upsert', 'queued', md5('q' || i), 1000,"
            " now() + CASE WHEN i % 2 = 0 THEN interval '1 hour' ELSE interval '0' END,"
            " i % 4 = 0"
            " FROM generate_series(1, 40) i"
        )
        conn.execute(
            "INSERT INTO background_jobs (tenant_id, job_type, status, request_key, total,"
            " attempts, lease_owner, lease_until, started_at)"
            " SELECT 'tenant-' || i, 'staging_upsert', 'running', md5('r' || i), 1000, 1,"
            " 'runner-' || i, now() + interval '1 minute', now()"
            " FROM generate_series(1, 10) i"
        )


def context(conn: psycopg.Connection) -> Context:
    """Read the parameters the queries are bound with."""
    codes = manufacturing(conn)
    names = [c.code for c in codes]
    matching = conn.execute(
        "SELECT coalesce(sum(n), 0) FROM staging_ssic_counts WHERE code = ANY(%s)", (names,)
    ).fetchone()
    n = int(matching[0]) if matching else 0
    mid = conn.execute(
        "SELECT primary_ssic_code, uen FROM staging_acra_companies"
        " WHERE primary_ssic_code = ANY(%s) ORDER BY 1, 2 OFFSET %s LIMIT 1",
        (names, n // 2),
    ).fetchone()
    running = conn.execute(
        "SELECT job_id, lease_owner FROM background_jobs WHERE status = 'running'"
        " ORDER BY job_id LIMIT 1"
    ).fetchone()
    queued = conn.execute(
        "SELECT job_id FROM background_jobs WHERE status = 'queued' ORDER BY job_id LIMIT 1"
    ).fetchone()
    leads = conn.execute(
        "SELECT count(*) FROM lead_scores WHERE tenant_id = %s", (TENANT,)
    ).fetchone()
    deep = conn.execute(
        "SELECT score, company_id FROM lead_scores WHERE tenant_id = %s"
        " ORDER BY score DESC, company_id DESC OFFSET %s LIMIT 1",
        (TENANT, DEEP - 1),
    ).fetchone()
    search = conn.execute(
        "SELECT min(search_id) FROM icp_searches WHERE tenant_id = %s", (TENANT,)
    ).fetchone()
    assert mid and running and queued and leads and deep and search
    return Context(
        search_id=int(search[0]),
        codes=codes,
        matching=n,
        mid_key=(str(mid[0]), str(mid[1])),
        running_job=(int(running[0]), str(running[1])),
        queued_job=int(queued[0]),
        deep_key=(int(deep[0]), int(deep[1])),
        leads=int(leads[0]),
    )


# --------------------------------------------------------------------------- the queries


@dataclass(frozen=True)
class Case:
    """One statement to explain."""

    name: str
    sql: str
    params: dict[str, Any]
    shown: str  # the parameters, for the reader
    writes: bool = False


def _resolve_params(block: str) -> dict[str, Any]:
    from nodes.resolve import candidate_params

    return candidate_params(TERMS)[block]


CBD = ["01", "02", "03", "04", "05", "06", "07", "08"]


def lead_filters(**given: Any) -> dict[str, Any]:
    """Return the lead filters a statement binds: ``given``, the others NULL."""
    return {**dict.fromkeys(FILTER_KEYS), **given}


def follow_up_cases(
    search_id: int, code_txt: str
) -> dict[str, list[tuple[str, dict[str, Any], str, bool]]]:
    """Return the chat follow-ups' reads (db/queries/followups.sql) with their parameters."""
    none = lead_filters()
    page = {"tenant_id": TENANT, "search_id": search_id, "shown": list(range(1, 31)), "limit": 10}
    jurong = {**none, "live": True, "sectors": ["60", "61", "62", "63", "64"], "year_min": 2016}
    narrow = {**jurong, "entity": "company", "min_officers": 3}
    return {
        "search_leads_filtered_page": [
            (
                "search_leads_filtered_page (no filters)",
                {**page, **none},
                f"{code_txt}, 30 shown, limit 10",
                False,
            ),
            (
                "search_leads_filtered_page (live, Jurong, after 2015)",
                {**page, **jurong},
                f"{code_txt}, live, sectors 60-64, year >= 2016",
                False,
            ),
            (
                "search_leads_filtered_page (+ companies, >= 3 officers)",
                {**page, **narrow},
                f"{code_txt}, live, sectors 60-64, year >= 2016, company, officers >= 3",
                False,
            ),
        ],
        "scored_companies": [
            (
                "scored_companies",
                {"tenant_id": TENANT, "search_id": search_id, "ids": list(range(1, 31))},
                f"tenant {TENANT}, 30 ids",
                False,
            ),
        ],
        "scored_companies_by_name": [
            (
                "scored_companies_by_name",
                {"tenant_id": TENANT, "search_id": search_id, "prefix": "tan", "limit": 5},
                f"prefix 'tan', {code_txt}",
                False,
            ),
        ],
    }


def cases(ctx: Context) -> tuple[list[Case], list[str]]:
    """Return the statements to explain and the named blocks skipped (no parameters)."""
    icp = icp_params(ctx.codes)
    codes = icp["codes"]
    code_txt = f"{len(codes)} manufacturing codes ({codes[0]} … {codes[-1]})"
    job_id, owner = ctx.running_job
    lease = {"lease_seconds": 60.0, "backoff_base": 2.0, "backoff_cap": 600.0}
    start = {"after_code": "", "after_uen": ""}
    mid = {"after_code": ctx.mid_key[0], "after_uen": ctx.mid_key[1]}
    upsert = {**icp, "tenant_id": TENANT, "search_id": ctx.search_id, "job_id": None}
    stats = {
        "job_id": job_id,
        "tenant_id": "tenant-1",
        "stage": "staging_upsert",
        "rows": 500,
        "batches": 1,
        "p50_ms": 10.0,
        "p95_ms": 20.0,
        "errors": 0,
        "duration_ms": 30.0,
        "started_at": None,
    }
    enqueue = {
        "tenant_id": TENANT,
        "job_type": "staging_upsert",
        "params": Jsonb({"terms": ["manufacturing"]}),
        "request_key": "bench-explain-new-key",
        "total": ctx.matching,
        "max_attempts": 3,
        "parent_job_id": None,
        "cursor": None,
        "released": False,
    }
    # name -> (params, shown, writes); several cases may share a block.
    spec: dict[str, list[tuple[str, dict[str, Any], str, bool]]] = {
        "head_source": [
            (
                "head_source",
                {**icp, "limit": HEAD_LIMIT},
                f"{code_txt}, limit {HEAD_LIMIT}",
                False,
            )
        ],
        "head_filtered_source": [
            (
                "head_filtered_source (CBD, after 2015)",
                {**icp, **lead_filters(sectors=CBD, year_min=2016), "limit": HEAD_LIMIT},
                f"{code_txt}, sectors 01-08, year >= 2016, limit {HEAD_LIMIT}",
                False,
            ),
            (
                "head_filtered_source (>= 5 officers)",
                {**icp, **lead_filters(min_officers=5), "limit": HEAD_LIMIT},
                f"{code_txt}, officers >= 5, limit {HEAD_LIMIT}",
                False,
            ),
        ],
        "batch_source": [
            (
                "batch_source (start)",
                {"codes": codes, "limit": BATCH, **start},
                f"{code_txt}, after ('', ''), limit {BATCH}",
                False,
            ),
            (
                "batch_source (middle)",
                {"codes": codes, "limit": BATCH, **mid},
                f"{code_txt}, after {ctx.mid_key}, limit {BATCH}",
                False,
            ),
        ],
        "count_matching": [("count_matching", {"codes": codes}, code_txt, False)],
        "sample_matching": [
            ("sample_matching", {**icp, "limit": 20}, f"{code_txt}, limit 20", False)
        ],
        "vocabulary_exact": [
            (
                "vocabulary_exact",
                _resolve_params("vocabulary_exact"),
                f"{len(TERMS)} terms: {', '.join(TERMS)}",
                False,
            )
        ],
        "vocabulary_fuzzy": [
            (
                "vocabulary_fuzzy",
                _resolve_params("vocabulary_fuzzy"),
                f"the same {len(TERMS)} terms' core words and typo words",
                False,
            )
        ],
        "ssic_tree": [("ssic_tree", {}, "none", False)],
        "lock_request": [
            ("lock_request", {**enqueue, "lock_space": 0x1C9_10}, f"tenant {TENANT}", False)
        ],
        "live_request_job": [
            (
                "live_request_job (twin exists)",
                {**enqueue, "tenant_id": "tenant-2", "request_key": _md5("q2")},
                "tenant-2, the key of its queued job",
                False,
            )
        ],
        "latest_request_job": [
            (
                "latest_request_job",
                {**enqueue, "tenant_id": "tenant-7", "request_key": _md5("7")},
                "tenant-7, the key of one of its finished jobs",
                False,
            )
        ],
        "insert_job": [("insert_job", enqueue, f"tenant {TENANT}, a new request key", True)],
        "claim_job": [
            (
                "claim_job (immediate)",
                {"owner": "bench-runner", "claim_all": True, **lease},
                "owner bench-runner, every queued job, lease 60 s, backoff 2..600 s",
                True,
            ),
            (
                "claim_job (nightly: released only)",
                {"owner": "bench-runner", "claim_all": False, **lease},
                "owner bench-runner, released jobs and expired leases",
                True,
            ),
        ],
        "next_due": [("next_due (nightly)", {"claim_all": False, **lease}, "released only", False)],
        "run_job_now": [
            (
                "run_job_now",
                {"job_id": ctx.queued_job, "tenant_id": None},
                f"queued job {ctx.queued_job}, operator",
                True,
            )
        ],
        "release_queued": [("release_queued", {}, "a fire", True)],
        "notify_runners": [("notify_runners", {"reason": "bench"}, "bench", True)],
        "register_runner": [
            (
                "register_runner",
                {
                    "runner_id": "bench",
                    "kind": "server",
                    "claims": "released",
                    "cron": "0 2 * * *",
                    "cron_tz": "Asia/Singapore",
                },
                "one server",
                True,
            )
        ],
        "unregister_runner": [("unregister_runner", {"runner_id": "bench"}, "one", True)],
        "prune_runners": [("prune_runners", {}, "none", True)],
        "live_runners": [("live_runners", {"live_seconds": 15.0}, "seen in 15 s", False)],
        "recent_rate": [("recent_rate", {}, "latest 20 runs", False)],
        "jobs_ahead": [
            (
                "jobs_ahead",
                {"job_ids": [ctx.queued_job], "claim_all": False},
                f"queued job {ctx.queued_job}",
                False,
            )
        ],
        "fail_exhausted_jobs": [("fail_exhausted_jobs", {}, "none", True)],
        "heartbeat_job": [
            (
                "heartbeat_job",
                {"job_id": job_id, "owner": owner, "lease_seconds": 60.0},
                f"running job {job_id} of {owner}",
                True,
            )
        ],
        "start_job": [
            (
                "start_job",
                {
                    "job_id": job_id,
                    "owner": owner,
                    "lease_seconds": 60.0,
                    "total": 1000,
                    "cursor": Jsonb({}),
                },
                f"running job {job_id}",
                True,
            )
        ],
        "record_batch": [
            (
                "record_batch",
                {
                    "job_id": job_id,
                    "owner": owner,
                    "lease_seconds": 60.0,
                    "rows": 500,
                    "cursor": Jsonb({}),
                },
                f"running job {job_id}, 500 rows",
                True,
            )
        ],
        "finish_job": [
            (
                "finish_job",
                {"job_id": job_id, "owner": owner, "status": "done", "error": None, "total": 1000},
                f"running job {job_id} -> done",
                True,
            )
        ],
        "retry_job": [
            (
                "retry_job",
                {"job_id": job_id, "owner": owner, "error": "bench", "count": True, **lease},
                f"running job {job_id}",
                True,
            )
        ],
        "release_job": [
            ("release_job", {"job_id": job_id, "owner": owner}, f"running job {job_id}", True)
        ],
        "cancel_job": [
            (
                "cancel_job",
                {"job_id": ctx.queued_job, "tenant_id": None},
                f"queued job {ctx.queued_job}, operator",
                True,
            )
        ],
        "get_job": [
            (
                "get_job",
                {"job_id": job_id, "tenant_id": "tenant-1"},
                f"job {job_id}, tenant-1",
                False,
            )
        ],
        "list_jobs": [
            (
                "list_jobs (tenant)",
                {"tenant_id": "tenant-1", "status": None, "before": 2**63 - 1, "limit": 50},
                "tenant-1, first page of 50",
                False,
            ),
            (
                "list_jobs (operator, status)",
                {"tenant_id": None, "status": "error", "before": 2**63 - 1, "limit": 50},
                "all tenants, status error, first page of 50",
                False,
            ),
        ],
        "count_staging_after": [
            (
                "count_staging_after",
                {"codes": codes, **mid},
                f"{code_txt}, after {ctx.mid_key}",
                False,
            )
        ],
        "insert_stage_stats": [("insert_stage_stats", stats, f"job {job_id}", True)],
        "prune_jobs": [("prune_jobs", {"days": 30, "limit": 1000}, "30 days, chunk 1000", True)],
        "prune_fires": [("prune_fires", {"days": 30}, "30 days", True)],
        "record_fire": [
            (
                "record_fire",
                {"job_name": "nightly", "fire_time": None, "fired_by": "bench"},
                "nightly",
                True,
            )
        ],
        "fire_recorded": [
            ("fire_recorded", {"job_name": "nightly", "fire_time": None}, "nightly", False)
        ],
        "queue_waiting": [("queue_waiting", {}, "none", False)],
        "set_tenant_mode": [
            (
                "set_tenant_mode",
                {"tenant_id": TENANT, "mode": "background"},
                f"{TENANT}, background",
                True,
            )
        ],
        "get_tenant_mode": [("get_tenant_mode", {"tenant_id": TENANT}, TENANT, False)],
        "ensure_search": [
            (
                "ensure_search",
                {"tenant_id": TENANT, "terms": ["manufacturing"], "codes": codes},
                f"{TENANT}, {code_txt}",
                True,
            )
        ],
        "list_searches": [("list_searches", {"tenant_id": TENANT, "limit": 100}, TENANT, False)],
        **follow_up_cases(ctx.search_id, f"search {ctx.search_id} ({code_txt})"),
    }
    top = {"score": 32767, "company_id": 2**63 - 1, "search_id": 2**63 - 1, "limit": PAGE}
    deep = {"score": ctx.deep_key[0], "company_id": ctx.deep_key[1], "search_id": 2**63 - 1,
            "limit": PAGE}  # fmt: skip
    # Page statements with their /*filters*/ placeholder: (case, filter blocks, params, shown).
    pages: dict[str, list[tuple[str, tuple[str, ...], dict[str, Any], str]]] = {
        "leads_page": [
            ("leads_page (page 1)", (), top, f"tenant {TENANT}, first page of {PAGE}"),
            (f"leads_page (depth {DEEP:,})", (), deep, f"tenant {TENANT}, after {ctx.deep_key}"),
            (
                "leads_page + bucket filter",
                ("leads_bucket_filter",),
                {**deep, "bucket": "medium"},
                f"after {ctx.deep_key}, bucket medium",
            ),
            (
                f"leads_page + search + live filters (depth {DEEP:,})",
                ("leads_search_filter", "leads_live_filter"),
                {**deep, "only_search": ctx.search_id},
                f"after {ctx.deep_key}, search {ctx.search_id}, live only",
            ),
        ],
        "leads_industry_page": [
            ("leads_industry_page", (), {**top, "industry_prefix": "10"}, "first page, prefix 10"),
        ],
        "companies_page": [
            (
                "companies_page",
                (),
                {"company_id": 500_000, "limit": 50},
                "after company_id 500000, 50 rows",
            ),
        ],
        "companies_industry_page": [
            (
                "companies_industry_page",
                (),
                {"company_id": 0, "limit": 50, "industry_prefix": "10"},
                "first page, SSIC prefix 10",
            ),
        ],
        "companies_by_name_page": [
            (
                "companies_by_name_page",
                (),
                {"name_prefix": "tan", "name_key": "tan", "company_id": 0, "limit": 50},
                "prefix 'tan', first page of 50",
            ),
        ],
    }
    fragments = {
        "leads_bucket_filter",
        "tenant_codes",
        "leads_search_filter",
        "leads_live_filter",
        "companies_industry_filter",
    }
    out: list[Case] = []
    skipped: list[str] = []
    for block in all_blocks():
        if block in pages:
            for name, filters, params, shown in pages[block]:
                fill = "\n  ".join(q(f) for f in filters)
                page_sql = q(block).replace("/*filters*/", fill)
                out.append(Case(name, page_sql, {"tenant_id": TENANT, **params}, shown))
            continue
        if block in fragments:
            continue
        if block not in spec:
            skipped.append(block)
            continue
        for name, params, shown, writes in spec[block]:
            sql = with_source(block, "head_source") if block == "sample_matching" else q(block)
            out.append(Case(name, sql, _with_times(params), shown, writes))
        if block == "head_source":
            sql = with_source("upsert_scored", "head_source")
            out.append(
                Case(
                    "upsert_scored (head_source)",
                    sql,
                    {**upsert, "limit": HEAD_LIMIT, **start},
                    f"{code_txt}, limit {HEAD_LIMIT}, tenant {TENANT}",
                    True,
                )
            )
        if block == "batch_source":
            sql = with_source("upsert_scored", "batch_source")
            out.append(
                Case(
                    "upsert_scored (batch_source, middle)",
                    sql,
                    {**upsert, "limit": BATCH, **mid},
                    f"{code_txt}, after {ctx.mid_key}, limit {BATCH}, tenant {TENANT}",
                    True,
                )
            )
    out.append(
        Case(
            "leads page 1",
            LEADS_PAGE_FIRST,
            {"tenant_id": TENANT},
            f"tenant {TENANT} ({ctx.leads:,} scored companies)",
        )
    )
    out.append(
        Case(
            f"leads page at depth {DEEP:,}",
            LEADS_PAGE_AFTER,
            {"tenant_id": TENANT, "after_score": ctx.deep_key[0], "after_id": ctx.deep_key[1]},
            f"tenant {TENANT}, after (score, company_id) = {ctx.deep_key}",
        )
    )
    return out, [s for s in skipped if s != "upsert_scored"]


def _md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode()).hexdigest()


def _with_times(params: dict[str, Any]) -> dict[str, Any]:
    """Fill the timestamp parameters left None with the current time."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    return {
        k: (now if v is None and k in ("fire_time", "before", "started_at") else v)
        for k, v in params.items()
    }


# --------------------------------------------------------------------------- explaining


_INDEX = re.compile(
    r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)"
)
_SEQ = re.compile(r"Seq Scan on (\w+)")
_SORT = re.compile(r"Sort Method: ([\w-]+(?: [\w-]+)?)")
_STAGING_BUFFERS = re.compile(
    r"(?:Index Scan|Index Only Scan|Bitmap Heap Scan)[^\n]*staging_acra_companies[^\n]*\n"
    r"(?:(?!\s*->)[^\n]*\n)*?\s*Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?"
)
_EXEC = re.compile(r"Execution Time: ([\d.]+) ms")
_STAGING_ROWS = re.compile(
    r"(?:Index Scan|Index Only Scan|Seq Scan|Bitmap Heap Scan)[^\n]*staging_acra_companies[^\n]*"
    r"rows=([\d.]+) loops=(\d+)"
)


def explain(conn: psycopg.Connection, case: Case) -> tuple[str, float]:
    """Run the case under EXPLAIN ANALYZE twice; return the second plan and its time (ms)."""
    text = ""
    for _ in range(2):
        with conn.transaction(force_rollback=case.writes):
            rows = conn.execute(EXPLAIN + case.sql, case.params, prepare=False).fetchall()
        text = "\n".join(str(r[0]) for r in rows)
    m = _EXEC.search(text)
    return text, float(m.group(1)) if m else float("nan")


def verdict(case: Case, plan: str, ctx: Context) -> str:
    """One line: the indexes used, sequential scans and sorts, early stop on staging."""
    indexes = sorted(set(_INDEX.findall(plan)))
    seqs = sorted(set(_SEQ.findall(plan)))
    sorts = _SORT.findall(plan)
    parts = [f"indexes: {', '.join(indexes)}" if indexes else "no index"]
    if seqs:
        parts.append(f"seq scan: {', '.join(seqs)}")
    if sorts:
        parts.append(f"sort: {', '.join(sorted(set(sorts)))}")
    staging = [float(r) * int(n) for r, n in _STAGING_ROWS.findall(plan)]
    if staging and case.name not in ("count_staging_after",):
        read = int(sum(staging))
        early = read <= max(2 * BATCH, ctx.matching // 10)
        pages = sum(int(h or 0) + int(r or 0) for h, r in _STAGING_BUFFERS.findall(plan))
        wasted = pages > 5 * read + 100  # index entries walked and discarded by the quals
        parts.append(
            f"staging rows returned {read:,} of {ctx.matching:,} matching, {pages:,} buffers: "
            + (
                "NO early stop (reads/sorts the matches)"
                if not early
                else "stops at the limit, but walks the index entries before the keyset"
                " (O(position) per batch)"
                if wasted
                else "early stop"
            )
        )
    return "; ".join(parts)


_LONG_ARRAY = re.compile(r"'\{([^'{}]{120,})\}'")


def shorten(plan: str) -> str:
    """Abbreviate long array literals in a plan (the 355 codes) to their ends and size."""

    def one(m: re.Match[str]) -> str:
        items = m.group(1).split(",")
        return f"'{{{','.join(items[:3])},…,{items[-1]}}}' /* {len(items)} elements */"

    return _LONG_ARRAY.sub(one, plan)


def render(
    server: str,
    url: str,
    results: list[tuple[Case, str, float, str]],
    skipped: list[str],
    ctx: Context,
) -> str:
    """Return the markdown section of one server."""
    lines = [
        f"## {server}",
        "",
        f"`{version_line(url)}`; generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f" by `python -m bench.explain`. Staging holds the manufacturing ICP's {ctx.matching:,}"
        f" matching rows among the million; the tenant has {ctx.leads:,} lead scores.",
        "",
        "| query | execution ms | verdict |",
        "|---|---|---|",
        *(f"| {c.name} | {ms:,.2f} | {v} |" for c, _, ms, v in results),
        "",
        "Skipped (no parameters built for them): "
        + (", ".join(skipped) if skipped else "none")
        + ".",
    ]
    for case, plan, ms, v in results:
        lines += [
            "",
            f"### {case.name} ({server})",
            "",
            f"Parameters: {case.shown}. Execution time {ms:,.2f} ms"
            + (" (rolled back)." if case.writes else "."),
            "",
            f"Verdict: {v}.",
            "",
            "```",
            shorten(plan),
            "```",
        ]
    return "\n".join(lines) + "\n"


def version_line(url: str) -> str:
    """Return the server's version string."""
    return server_version(url)


def write_doc(server: str, body: str) -> None:
    """Rewrite this server's section of docs/query-plans.md, keeping the others."""
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / ".query-plans-md.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = DOC.read_text(encoding="utf-8") if DOC.exists() else _HEADER
        if not text.startswith("# Query plans"):
            text = _HEADER
        head, sep, rest = text.partition("\n## ")
        text = _HEADER + (sep + rest if sep else "")
        DOC.write_text(replace_section(text, server, body), encoding="utf-8")


def benchmark(rows: int, *, rebuild: bool = False) -> str:
    """Build or reuse the database, explain every case, write the doc; return the section."""
    url = ensure_database(rows, rebuild=rebuild)
    with psycopg.connect(url, autocommit=True) as conn:
        major = conn.execute("SHOW server_version_num").fetchone()
        server = f"PostgreSQL {int(major[0]) // 10000}" if major else "PostgreSQL"
        ctx = context(conn)
        todo, skipped = cases(ctx)
        results = []
        for case in todo:
            plan, ms = explain(conn, case)
            results.append((case, plan, ms, verdict(case, plan, ctx)))
            log(f"  {case.name}: {ms:,.2f} ms")
    body = render(server, url, results, skipped, ctx)
    write_doc(server, body)
    return body


@register("explain")
def run(opts: RunOptions) -> None:
    """Registered entry: query plans at ``bench.run``'s rows (default one million)."""
    benchmark(max(opts.rows or DEFAULT_ROWS, DEFAULT_ROWS))


def main(argv: list[str] | None = None) -> int:
    """Command line of the query-plans benchmark."""
    ap = argparse.ArgumentParser(prog="python -m bench.explain", description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    ap.add_argument(
        "--rebuild", action="store_true", help="rebuild the database even if big enough"
    )
    args = ap.parse_args(argv)
    body = benchmark(args.rows, rebuild=args.rebuild)
    print(body.split("\n### ")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
