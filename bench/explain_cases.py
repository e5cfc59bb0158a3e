"""The statements ``bench.explain`` runs under EXPLAIN: one row per case, bound from the
seeded database's :class:`Context`.

A case names the ``db/queries`` block it explains (several cases may share one), its
parameters, how they are shown to the reader, and whether it writes (run in a
transaction that is rolled back). Page statements fill their ``/*filters*/`` placeholder
with the named filter blocks. A new query shape is one more row here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from db.companies import IcpCode, icp_params, lead_filter_params, with_source
from db.queries import _all as all_blocks
from db.queries import q

TENANT = "bench-tenant"
BATCH = 500  # STAGING_BATCH_SIZE default
HEAD_LIMIT = 10  # UPSERT_SYNC_LIMIT default
PAGE = 51  # a leads page of 50 plus one to know there is a next page
DEEP = 500_000  # the leads page at this depth
CBD = ["01", "02", "03", "04", "05", "06", "07", "08"]
TERMS = ("manufacturing", "logistics", "restaurants", "software", "real estate",
         "construction", "wholesale", "it consulting", "accounting", "manufactoring")  # fmt: skip
FRAGMENTS = {"leads_bucket_filter", "leads_bucket_range_filter", "tenant_codes",
             "leads_search_filter", "leads_live_filter", "companies_industry_filter"}  # fmt: skip
LEADS_PAGE = """SELECT ls.company_id, ls.score, ls.bucket
FROM lead_scores ls
WHERE ls.tenant_id = %(tenant_id)s{after}
ORDER BY ls.score DESC, ls.company_id DESC
LIMIT 51"""
AFTER = "\n  AND (ls.score, ls.company_id) < (%(after_score)s::smallint, %(after_id)s::bigint)"


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


@dataclass(frozen=True)
class Case:
    """One statement to explain."""

    name: str
    sql: str
    params: dict[str, Any]
    shown: str  # the parameters, for the reader
    writes: bool = False


def lead_filters(**given: Any) -> dict[str, Any]:
    """Return the lead filters a statement binds: ``given``, the others NULL."""
    return {**lead_filter_params(None), **given}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _with_times(params: dict[str, Any]) -> dict[str, Any]:
    """Fill the timestamp parameters left None with the current time."""
    now = dt.datetime.now(dt.UTC)
    times = ("fire_time", "before", "started_at")
    return {k: (now if v is None and k in times else v) for k, v in params.items()}


def rows(ctx: Context) -> list[tuple[str, str, dict[str, Any], str, bool]]:
    """Return every case as (block, case name, params, shown, writes); for page blocks the
    name is followed by ``|`` and the filter blocks to fill in."""
    from nodes.resolve import candidate_params

    icp = icp_params(ctx.codes)
    codes = icp["codes"]
    ct = f"{len(codes)} manufacturing codes ({codes[0]} … {codes[-1]})"
    job, owner = ctx.running_job
    queued, sid, dk = ctx.queued_job, ctx.search_id, ctx.deep_key
    lease = {"lease_seconds": 60.0, "backoff_base": 2.0, "backoff_cap": 600.0}
    start = {"after_code": "", "after_uen": ""}
    mid = {"after_code": ctx.mid_key[0], "after_uen": ctx.mid_key[1]}
    mine = {"job_id": job, "owner": owner}
    upsert = {**icp, "tenant_id": TENANT, "search_id": sid, "job_id": None}
    stats = {"job_id": job, "tenant_id": "tenant-1", "stage": "staging_upsert", "rows": 500,
             "batches": 1, "p50_ms": 10.0, "p95_ms": 20.0, "errors": 0, "duration_ms": 30.0,
             "started_at": None}  # fmt: skip
    enqueue = {"tenant_id": TENANT, "job_type": "staging_upsert", "request_key": "bench-new",
               "params": Jsonb({"terms": ["manufacturing"]}), "total": ctx.matching,
               "max_attempts": 3, "parent_job_id": None, "cursor": None, "released": False}
    runner = {"runner_id": "bench", "kind": "server", "claims": "released",
              "cron": "0 2 * * *", "cron_tz": "Asia/Singapore"}  # fmt: skip
    none = lead_filters()
    fpage = {"tenant_id": TENANT, "search_id": sid, "shown": list(range(1, 31)), "limit": 10}
    jurong = {**none, "live": True, "sectors": ["60", "61", "62", "63", "64"], "year_min": 2016}
    narrow = {**jurong, "entity": "company", "min_officers": 3}
    top = {"score": 32767, "company_id": 2**63 - 1, "search_id": 2**63 - 1, "limit": PAGE}
    deep = {**top, "score": dk[0], "company_id": dk[1]}
    sct = f"search {sid} ({ct})"
    R, W = False, True  # noqa: N806 - read / write, for the table's last column
    return [  # (block, case name ["|filters"], params, shown, writes)
        ("head_source", "", {**icp, "limit": HEAD_LIMIT}, f"{ct}, limit {HEAD_LIMIT}", R),
        ("head_source", "upsert_scored (head_source)", {**upsert, "limit": HEAD_LIMIT, **start},
         f"{ct}, limit {HEAD_LIMIT}, tenant {TENANT}", W),
        ("head_filtered_source", "head_filtered_source (CBD, after 2015)",
         {**icp, **lead_filters(sectors=CBD, year_min=2016), "limit": HEAD_LIMIT},
         f"{ct}, sectors 01-08, year >= 2016, limit {HEAD_LIMIT}", R),
        ("head_filtered_source", "head_filtered_source (>= 5 officers)",
         {**icp, **lead_filters(min_officers=5), "limit": HEAD_LIMIT},
         f"{ct}, officers >= 5, limit {HEAD_LIMIT}", R),
        ("batch_source", "batch_source (start)", {"codes": codes, "limit": BATCH, **start},
         f"{ct}, after ('', ''), limit {BATCH}", R),
        ("batch_source", "batch_source (middle)", {"codes": codes, "limit": BATCH, **mid},
         f"{ct}, after {ctx.mid_key}, limit {BATCH}", R),
        ("batch_source", "upsert_scored (batch_source, middle)", {**upsert, "limit": BATCH, **mid},
         f"{ct}, after {ctx.mid_key}, limit {BATCH}, tenant {TENANT}", W),
        ("count_matching", "", {"codes": codes}, ct, R),
        ("sample_matching", "", {**icp, "limit": 20}, f"{ct}, limit 20", R),
        ("vocabulary_exact", "", candidate_params(TERMS)["vocabulary_exact"],
         f"{len(TERMS)} terms: {', '.join(TERMS)}", R),
        ("vocabulary_fuzzy", "", candidate_params(TERMS)["vocabulary_fuzzy"],
         f"the same {len(TERMS)} terms' core words and typo words", R),
        ("ssic_tree", "", {}, "none", R),
        ("lock_request", "", {**enqueue, "lock_space": 0x1C9_10}, f"tenant {TENANT}", R),
        ("live_request_job", "live_request_job (twin exists)",
         {**enqueue, "tenant_id": "tenant-2", "request_key": _md5("q2")},
         "tenant-2, the key of its queued job", R),
        ("latest_request_job", "", {**enqueue, "tenant_id": "tenant-7", "request_key": _md5("7")},
         "tenant-7, the key of one of its finished jobs", R),
        ("insert_job", "", enqueue, f"tenant {TENANT}, a new request key", W),
        ("claim_job", "claim_job (immediate)", {"owner": "bench-runner", "claim_all": True,
         **lease}, "owner bench-runner, every queued job, lease 60 s, backoff 2..600 s", W),
        ("claim_job", "claim_job (nightly: released only)", {"owner": "bench-runner",
         "claim_all": False, **lease}, "owner bench-runner, released jobs and expired leases", W),
        ("next_due", "next_due (nightly)", {"claim_all": False, **lease}, "released only", R),
        ("run_job_now", "", {"job_id": queued, "tenant_id": None},
         f"queued job {queued}, operator", W),
        ("release_queued", "", {}, "a fire", W),
        ("notify_runners", "", {"reason": "bench"}, "bench", W),
        ("register_runner", "", runner, "one server", W),
        ("unregister_runner", "", {"runner_id": "bench"}, "one", W),
        ("prune_runners", "", {}, "none", W),
        ("live_runners", "", {"live_seconds": 15.0}, "seen in 15 s", R),
        ("recent_rate", "", {}, "latest 20 runs", R),
        ("jobs_ahead", "", {"job_ids": [queued], "claim_all": False}, f"queued job {queued}", R),
        ("fail_exhausted_jobs", "", {}, "none", W),
        ("heartbeat_job", "", {**mine, "lease_seconds": 60.0}, f"running job {job} of {owner}", W),
        ("start_job", "", {**mine, "lease_seconds": 60.0, "total": 1000, "cursor": Jsonb({})},
         f"running job {job}", W),
        ("record_batch", "", {**mine, "lease_seconds": 60.0, "rows": 500, "cursor": Jsonb({})},
         f"running job {job}, 500 rows", W),
        ("finish_job", "", {**mine, "status": "done", "error": None, "total": 1000},
         f"running job {job} -> done", W),
        ("retry_job", "", {**mine, "error": "bench", "count": True, **lease},
         f"running job {job}", W),
        ("release_job", "", mine, f"running job {job}", W),
        ("cancel_job", "", {"job_id": queued, "tenant_id": None},
         f"queued job {queued}, operator", W),
        ("get_job", "", {"job_id": job, "tenant_id": "tenant-1"}, f"job {job}, tenant-1", R),
        ("list_jobs", "list_jobs (tenant)", {"tenant_id": "tenant-1", "status": None,
         "before": 2**63 - 1, "limit": 50}, "tenant-1, first page of 50", R),
        ("list_jobs", "list_jobs (operator, status)", {"tenant_id": None, "status": "error",
         "before": 2**63 - 1, "limit": 50}, "all tenants, status error, first page of 50", R),
        ("count_staging_after", "", {"codes": codes, **mid}, f"{ct}, after {ctx.mid_key}", R),
        ("insert_stage_stats", "", stats, f"job {job}", W),
        ("prune_jobs", "", {"days": 30, "limit": 1000}, "30 days, chunk 1000", W),
        ("prune_fires", "", {"days": 30}, "30 days", W),
        ("record_fire", "", {"job_name": "nightly", "fire_time": None, "fired_by": "bench"},
         "nightly", W),
        ("fire_recorded", "", {"job_name": "nightly", "fire_time": None}, "nightly", R),
        ("queue_waiting", "", {}, "none", R),
        ("set_tenant_mode", "", {"tenant_id": TENANT, "mode": "background"},
         f"{TENANT}, background", W),
        ("get_tenant_mode", "", {"tenant_id": TENANT}, TENANT, R),
        ("ensure_search", "", {"tenant_id": TENANT, "terms": ["manufacturing"], "codes": codes,
                               "weights": [1.0] * len(codes)},
         f"{TENANT}, {ct}", W),
        ("list_searches", "", {"tenant_id": TENANT, "limit": 100}, TENANT, R),
        ("search_leads_filtered_page", "search_leads_filtered_page (no filters)",
         {**fpage, **none}, f"{sct}, 30 shown, limit 10", R),
        ("search_leads_filtered_page", "search_leads_filtered_page (live, Jurong, after 2015)",
         {**fpage, **jurong}, f"{sct}, live, sectors 60-64, year >= 2016", R),
        ("search_leads_filtered_page", "search_leads_filtered_page (+ companies, >= 3 officers)",
         {**fpage, **narrow}, f"{sct}, live, sectors 60-64, year >= 2016, company, officers >= 3",
         R),
        ("scored_companies", "", {"tenant_id": TENANT, "search_id": sid,
         "ids": list(range(1, 31))}, f"tenant {TENANT}, 30 ids", R),
        ("scored_companies_by_name", "", {"tenant_id": TENANT, "search_id": sid, "prefix": "tan",
         "limit": 5}, f"prefix 'tan', {sct}", R),
        ("leads_page", "leads_page (page 1)|", top, f"tenant {TENANT}, first page of {PAGE}", R),
        ("leads_page", f"leads_page (depth {DEEP:,})|", deep, f"tenant {TENANT}, after {dk}", R),
        ("leads_page", "leads_page + bucket filter|leads_bucket_filter",
         {**deep, "bucket": "medium"}, f"after {dk}, bucket medium", R),
        ("leads_industry_page", "leads_industry_page|",
         {**top, "industry_prefix": "10", "bucket": None}, "first page, SSIC prefix 10", R),
        ("leads_industry_page", "leads_industry_page + bucket filter"
         "|leads_bucket_filter leads_bucket_range_filter",
         {**top, "industry_prefix": "46", "bucket": "medium"},
         "first page, SSIC prefix 46, bucket medium", R),
        ("leads_page", f"leads_page + search + live filters (depth {DEEP:,})"
         "|leads_search_filter leads_live_filter", {**deep, "only_search": sid},
         f"after {dk}, search {sid}, live only", R),
        ("companies_page", "companies_page|", {"company_id": 500_000, "limit": 50},
         "after company_id 500000, 50 rows", R),
        ("companies_industry_page", "companies_industry_page|", {"company_id": 0, "limit": 50,
         "industry_prefix": "10"}, "first page, SSIC prefix 10", R),
        ("companies_by_name_page", "companies_by_name_page|", {"name_prefix": "tan",
         "name_key": "tan", "company_id": 0, "limit": 50}, "prefix 'tan', first page of 50", R),
    ]  # fmt: skip


def statement(block: str, name: str) -> str:
    """Return the SQL a case explains: the block, its source or its page filters filled."""
    if name.startswith("upsert_scored ("):
        return with_source("upsert_scored", block)  # type: ignore[arg-type]
    if block == "sample_matching":
        return with_source(block, "head_source")
    if "|" in name:
        fill = "\n  ".join(q(f) for f in name.split("|")[1].split())
        return q(block).replace("/*filters*/", fill)
    return q(block)


def cases(ctx: Context) -> tuple[list[Case], list[str]]:
    """Return the statements to explain, in the blocks' order, and the named blocks skipped
    (no parameters built for them)."""
    table = rows(ctx)
    out: list[Case] = []
    for block in all_blocks():
        for b, name, params, shown, writes in table:
            if b == block:
                sql = statement(block, name)
                params = {"tenant_id": TENANT, **params} if "|" in name else _with_times(params)
                out.append(Case(name.split("|")[0] or block, sql, params, shown, writes))
    first = {"tenant_id": TENANT}
    after = {**first, "after_score": ctx.deep_key[0], "after_id": ctx.deep_key[1]}
    out.append(Case("leads page 1", LEADS_PAGE.format(after=""), first,
                    f"tenant {TENANT} ({ctx.leads:,} scored companies)"))
    out.append(Case(f"leads page at depth {DEEP:,}", LEADS_PAGE.format(after=AFTER), after,
                    f"tenant {TENANT}, after (score, company_id) = {ctx.deep_key}"))
    known = {b for b, *_ in table} | FRAGMENTS | {"upsert_scored"}
    return out, [b for b in all_blocks() if b not in known]
