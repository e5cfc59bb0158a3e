"""No plan cliffs (issue 15): the routes' list queries and the runner's batch keep index
plans whatever the planner's statistics say.

One database holds 250,000 generated registry rows (a skewed SSIC mix: one code holds a
tenth of the registry, manufacturing about 5 %), a company per row, about 300,000 lead
scores over three saved searches of two tenants, and 20,000 jobs. Every list/filter
combination that ``GET /leads``, ``GET /companies``, ``GET /icp/searches``, ``GET /jobs``
and the chat's follow-up pages offer, and the runner's ``batch_source`` (alone and inside
``upsert_scored``), is EXPLAINed (FORMAT JSON, not run) under four statistics:

* ``analyzed``: a fresh ANALYZE of the 250k rows;
* ``3M``: the planner made to believe the big tables and their indexes hold 12x the rows
  (3 million) in the same pages (pg_class.reltuples; the planner scales it by the
  current block count, so the density is what changes);
* ``never``: loaded but never analysed (no pg_statistic rows, reltuples -1, no
  visibility map);
* ``empty``: analysed while the tables were empty, then loaded (reltuples 0).

Each state is written into the catalogs inside a transaction that is rolled back.
A plan passes when no big table (staging, companies, lead_scores, background_jobs) is
read by a Seq Scan or a Bitmap Heap Scan, and every range walk of one (an index scan that
is not a primary-key probe) stops at a Limit with nothing that gathers rows (Sort,
Incremental Sort, Hash, Aggregate, Materialize) between the walk and that Limit: the walk
reads about as many entries as the page or batch needs, never the rest of the range.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from db.acra import REFRESH_COUNTS
from db.companies import lead_filter_params, with_source
from db.queries import q

ROWS = 250_000
SCALE = 12  # 250k -> 3M
BIG = ("staging_acra_companies", "companies", "lead_scores", "background_jobs")
GATHERING = {"Sort", "Incremental Sort", "Hash", "Aggregate", "Materialize"}
TENANT, OTHER = "t1", "t2"
STATES = ("analyzed", "3M", "never", "empty")
# Statements that read given rows (by id, by a name prefix), not a page of a range.
BY_KEY = ("scored_companies",)

LOAD = """
-- Code pools, numbered from 0: every subclass, manufacturing, and wholesale/IT/professional.
CREATE TEMP TABLE pool AS
SELECT kind, (row_number() OVER (PARTITION BY kind ORDER BY code) - 1)::int AS n, code
FROM ssic_ref r,
     LATERAL (VALUES ('all'), (CASE WHEN section = 'C' THEN 'c' END),
                     (CASE WHEN section IN ('G', 'J', 'M') THEN 'gjm' END)) AS k(kind)
WHERE level = 'subclass' AND kind IS NOT NULL;
CREATE TEMP TABLE pool_size AS SELECT kind, count(*)::int AS size FROM pool GROUP BY kind;
ANALYZE pool;

CREATE TEMP TABLE pick AS
SELECT i, CASE WHEN h < 100 THEN 'one' WHEN h < 400 THEN 'gjm' WHEN h < 450 THEN 'c'
               ELSE 'all' END AS kind,
       CASE WHEN h < 400 THEN i * 7 WHEN h < 450 THEN i * 11 ELSE i * 31 END AS draw
FROM generate_series(1, {rows}) AS i, LATERAL (SELECT (i * 7919) % 1000 AS h) x;

INSERT INTO staging_acra_companies (
    uen, entity_name, entity_type_description, entity_status_description,
    registration_incorporation_date, annual_return_date, primary_ssic_code,
    primary_ssic_description, secondary_ssic_code, no_of_officers, postal_code,
    street_name, block, source_file)
SELECT 'U' || lpad(i::text, 9, '0'),
       'COMPANY ' || i || ' PTE. LTD.',
       (ARRAY['Local Company', 'Sole Proprietorship/ Partnership', 'Local Company',
              'Limited Liability Partnership', 'Foreign Company Branch'])[1 + i % 5],
       CASE WHEN i % 5 = 0 THEN 'Struck Off' ELSE 'Live Company' END,
       date '1980-01-01' + (i * 37) % 16000,
       CASE WHEN i % 7 = 0 THEN NULL ELSE date '2021-01-01' + (i * 13) % 1700 END,
       coalesce(p.code, '46900'),  -- one code holds a tenth of the registry
       'generated',
       CASE WHEN i % 10 < 3 THEN q.code END,
       1 + i % 9,
       lpad(((i * 7) % 830000 + 10000)::text, 6, '0'),
       CASE WHEN i % 11 = 0 THEN NULL ELSE 'STREET ' || i % 500 END,
       (i % 300)::text,
       'test'
FROM pick
LEFT JOIN pool_size z ON z.kind = pick.kind
LEFT JOIN pool p ON p.kind = pick.kind AND p.n = pick.draw % z.size
JOIN pool q ON q.kind = 'all' AND q.n = (pick.i * 17) % (SELECT size FROM pool_size
                                                          WHERE kind = 'all');

INSERT INTO companies (uen, name, industry_code, industry_norm, incorporation_date,
                       incorporation_year, entity_status, is_live, entity_type, officers,
                       postal_code, enriched_by, enriched_at)
SELECT s.uen, s.entity_name, s.primary_ssic_code, 'generated',
       s.registration_incorporation_date,
       extract(year FROM s.registration_incorporation_date)::int,
       s.entity_status_description, s.is_live, s.entity_type_description, s.no_of_officers,
       s.postal_code, 'registry', now()
FROM staging_acra_companies s ORDER BY s.uen;

INSERT INTO icp_searches (tenant_id, terms, codes, codes_key)
SELECT t, ARRAY[term], k, md5(array_to_string(k, ','))
FROM (VALUES ('{tenant}', 'manufacturing', (SELECT array_agg(code ORDER BY code) FROM pool
                                             WHERE kind = 'c')),
             ('{tenant}', 'wholesale', ARRAY['46900']),
             ('{other}', 'manufacturing', (SELECT array_agg(code ORDER BY code) FROM pool
                                           WHERE kind = 'c'))) AS v(t, term, k);

-- The first search scored every company (as the bench's), the second its code's,
-- the other tenant's a fifth of them.
INSERT INTO lead_scores (tenant_id, search_id, company_id, score, bucket, is_live,
                         rationale, industry_code)
SELECT x.tenant_id, x.search_id, c.company_id, p.score,
       CASE WHEN p.score >= 85 THEN 'high' WHEN p.score >= 65 THEN 'medium' ELSE 'low' END,
       coalesce(c.is_live, false), 'generated', c.industry_code
FROM icp_searches x
JOIN LATERAL (
    SELECT * FROM companies c WHERE x.terms = '{{manufacturing}}' AND x.tenant_id = '{tenant}'
    UNION ALL
    SELECT * FROM companies c WHERE x.terms = '{{wholesale}}' AND c.industry_code = '46900'
    UNION ALL
    SELECT * FROM companies c WHERE x.tenant_id = '{other}' AND c.company_id % 5 = 0
) c ON true,
     LATERAL (SELECT (abs(hashtext(c.uen || x.search_id)) % 101)::smallint AS score) p;

INSERT INTO background_jobs (tenant_id, job_type, status, request_key, processed, total,
                             attempts, created_at, started_at, ended_at, updated_at)
SELECT 'tenant-' || (i % 20), 'staging_upsert',
       (ARRAY['done', 'done', 'done', 'error', 'cancelled'])[1 + i % 5],
       md5(i::text), 1000, 1000, 1, t, t, t + interval '1 minute', t
FROM generate_series(1, 20000) AS i,
     LATERAL (SELECT now() - make_interval(mins => i) AS t) x;
"""


@pytest.fixture(scope="module")
def plans_db(pg_server: Any) -> Iterator[str]:
    """A database with the generated rows, vacuumed and analysed (the ``analyzed`` state)."""
    name = pg_server.clone("empty")
    url = pg_server.url(name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for table in BIG:  # nothing but the test changes the statistics
                conn.execute(
                    sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = off)").format(
                        sql.Identifier(table)
                    )
                )
            with conn.transaction():
                # Indexes are built after the load (a sorted build, not 250k inserts each).
                indexes = [
                    r[0]
                    for r in conn.execute(
                        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
                        " WHERE i.indrelid = ANY(%s::regclass[]) AND NOT EXISTS"
                        " (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
                        (list(BIG),),
                    )
                ]
                for definition in indexes:
                    name = definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
                    conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
                conn.execute(LOAD.format(rows=ROWS, tenant=TENANT, other=OTHER))
                conn.execute(REFRESH_COUNTS)
                conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
                for definition in indexes:
                    conn.execute(definition)
            conn.execute("VACUUM ANALYZE")
        yield url
    finally:
        pg_server.drop(name)


def _set_state(conn: psycopg.Connection, state: str) -> None:
    """Rewrite the big tables' statistics (inside the caller's transaction)."""
    rels = """(SELECT oid FROM pg_class WHERE oid = ANY(%(t)s::regclass[])
               UNION ALL
               SELECT indexrelid FROM pg_index WHERE indrelid = ANY(%(t)s::regclass[]))"""
    tables = {"t": list(BIG)}
    if state == "3M":
        conn.execute(
            f"UPDATE pg_class SET reltuples = reltuples * {SCALE} WHERE oid IN {rels}", tables
        )
    elif state in ("never", "empty"):
        tuples, pages = (-1, 0) if state == "never" else (0, 0)
        conn.execute(
            f"UPDATE pg_class SET reltuples = %(n)s, relpages = %(p)s, relallvisible = 0"
            f" WHERE oid IN {rels}",
            {**tables, "n": tuples, "p": pages},
        )
        conn.execute("DELETE FROM pg_statistic WHERE starelid = ANY(%(t)s::regclass[])", tables)


def _walk(
    node: dict[str, Any], ancestors: tuple[dict[str, Any], ...] = ()
) -> Iterator[tuple[dict[str, Any], tuple[dict[str, Any], ...]]]:
    yield node, ancestors
    for child in node.get("Plans", []):
        yield from _walk(child, (*ancestors, node))


def _problems(plan: dict[str, Any], *, walks: bool = True) -> list[str]:
    """Return what makes a plan a possible cliff (empty when it is fine); ``walks``: check
    that range walks stop at a Limit (not for statements that read rows by key or by a
    name prefix)."""
    found = []
    for node, ancestors in _walk(plan):
        table = node.get("Relation Name")
        if table not in BIG:
            continue
        kind = node["Node Type"]
        if not kind.endswith("Scan"):
            continue  # the tables a statement writes
        if kind not in ("Index Scan", "Index Only Scan"):
            found.append(f"{kind} on {table}")
            continue
        if "Index Cond" not in node:
            found.append(f"{kind} on {table} ({node['Index Name']}) walks the whole index")
            continue
        if not walks or _probe(node):
            continue  # a probe by key (its caller's rows are bounded)
        for above in reversed(ancestors):
            if above["Node Type"] == "Limit":
                break
            if above["Node Type"] in GATHERING:
                found.append(f"{kind} on {table} ({node['Index Name']}) under {above['Node Type']}")
                break
        else:
            found.append(f"{kind} on {table} ({node['Index Name']}) with no Limit above")
    return found


def _probe(node: dict[str, Any]) -> bool:
    """Whether an index scan looks rows up by another node's value (no range)."""
    cond = node.get("Index Cond", "")
    by_value = re.search(r"= (ANY \(|\(?[a-z_0-9]+\.[a-z_]+\)?\))", cond)
    return bool(by_value) and not re.search(r"[<>~]", cond)


def _explain(conn: psycopg.Connection, statement: str, params: dict[str, Any]) -> dict[str, Any]:
    row = conn.execute("EXPLAIN (FORMAT JSON) " + statement, params, prepare=False).fetchone()
    assert row is not None
    doc = row[0] if isinstance(row[0], list) else json.loads(row[0])
    return dict(doc[0]["Plan"])


def _page(block: str, filters: tuple[str, ...]) -> str:
    return q(block).replace("/*filters*/", "\n  ".join(q(f) for f in filters))


def _cases(conn: psycopg.Connection) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (name, statement, parameters) the test plans."""
    manufacturing, search_m, search_w = conn.execute(
        "SELECT x.codes, x.search_id, (SELECT search_id FROM icp_searches"
        " WHERE terms = '{wholesale}') FROM icp_searches x"
        " WHERE tenant_id = %s AND terms = '{manufacturing}'",
        (TENANT,),
    ).fetchone() or (None, None, None)
    wholesale_codes = conn.execute(
        "SELECT array_agg(code ORDER BY code) FROM ssic_ref"
        " WHERE section = 'G' AND level = 'subclass'"
    ).fetchone()
    deep = conn.execute(
        "SELECT score, company_id, search_id FROM lead_scores WHERE tenant_id = %s"
        " ORDER BY score DESC, company_id DESC, search_id DESC OFFSET 100000 LIMIT 1",
        (TENANT,),
    ).fetchone()
    assert deep is not None and wholesale_codes is not None
    top = {"score": 101, "company_id": 0, "search_id": 0}
    after = dict(zip(("score", "company_id", "search_id"), deep, strict=True))
    out: list[tuple[str, str, dict[str, Any]]] = []
    base = {"tenant_id": TENANT, "limit": 51, "bucket": None, "only_search": None,
            "industry_prefix": None}  # fmt: skip
    for bucket in (None, "high", "medium", "low"):
        for only_search in (None, search_m, search_w):
            for live in (False, True):
                filters = tuple(
                    f
                    for f, on in (
                        ("leads_bucket_filter", bucket),
                        ("leads_search_filter", only_search),
                        ("leads_live_filter", live),
                    )
                    if on
                )
                params = {**base, "bucket": bucket, "only_search": only_search}
                for where, key in (("top", top), ("deep", after)):
                    name = f"leads {filters} {where}"
                    out.append((name, _page("leads_page", filters), {**params, **key}))
                # Within a code prefix a bucket also bounds each code's walk by its range.
                ranged = filters + (("leads_bucket_range_filter",) if bucket else ())
                for prefix in ("46900", "10", "4", "99999"):
                    name = f"leads industry {prefix} {ranged}"
                    stmt = _page("leads_industry_page", ranged)
                    out.append((name, stmt, {**params, **top, "industry_prefix": prefix}))
    for prefix in (None, "46900", "10", "4"):
        filters = ("companies_industry_filter",) if prefix else ()
        params = {"tenant_id": TENANT, "company_id": 0, "limit": 51, "industry_prefix": prefix}
        block = "companies_industry_page" if prefix else "companies_page"
        out.append((f"companies {prefix}", _page(block, ()), params))
        out.append(
            (
                f"companies by name {prefix}",
                _page("companies_by_name_page", filters),
                {**params, "name_prefix": "company 12", "name_key": ""},
            )
        )
    out.append(("list_searches", q("list_searches"), {"tenant_id": TENANT, "limit": 100}))
    for tenant in (None, "tenant-3"):
        for status in (None, "done", "error"):
            params = {"tenant_id": tenant, "status": status, "before": 2**63 - 1, "limit": 51}
            out.append((f"list_jobs {tenant} {status}", q("list_jobs"), params))
    unfiltered = lead_filter_params(None)
    for name, filters in (
        ("none", {}),
        ("live", {"live": True}),
        ("years, sectors", {"year_min": 2015, "year_max": 2020, "sectors": ["01", "02"]}),
        ("entity, officers", {"entity": "company", "min_officers": 3}),
        ("score", {"min_score": 85}),
        ("hidden", {"hidden": [4, 5, 6]}),
    ):
        params = {"tenant_id": TENANT, "search_id": search_m, "shown": [1, 2, 3], "limit": 10,
                  **unfiltered, **filters}  # fmt: skip
        out.append((f"follow-up page {name}", q("search_leads_filtered_page"), params))
    out.append(
        (
            "scored_companies",
            q("scored_companies"),
            {"tenant_id": TENANT, "search_id": search_m, "ids": [5, 50, 500]},
        )
    )
    out.append(
        (
            "scored_companies_by_name",
            q("scored_companies_by_name"),
            {"tenant_id": TENANT, "search_id": search_m, "prefix": "company 12", "limit": 10},
        )
    )
    for label, codes in (
        ("manufacturing", manufacturing),
        ("wholesale", wholesale_codes[0]),
        ("46900", ["46900"]),
    ):
        keys = conn.execute(
            "SELECT primary_ssic_code, uen FROM staging_acra_companies"
            " WHERE primary_ssic_code = ANY(%s) ORDER BY 1, 2",
            (codes,),
        ).fetchall()
        for where, cursor in (
            ("start", ("", "")),
            ("middle", keys[len(keys) // 2]),
            ("end", keys[-100]),
        ):
            params = {"codes": codes, "after_code": cursor[0], "after_uen": cursor[1],
                      "limit": 500}  # fmt: skip
            out.append((f"batch_source {label} {where}", q("batch_source"), params))
            upsert = {**params, "weights": [1.0] * len(codes), "terms": ["t"] * len(codes),
                      "tenant_id": TENANT, "search_id": search_m, "job_id": None}  # fmt: skip
            out.append(
                (
                    f"upsert_scored batch {label} {where}",
                    # the runner's statement (jobs.runner: db.companies.upsert_scored_batch)
                    with_source("upsert_scored_progress", "batch_source"),
                    upsert,
                )
            )
    return out


@pytest.mark.parametrize("state", STATES)
def test_route_and_runner_queries_keep_index_plans(plans_db: str, state: str) -> None:
    with psycopg.connect(plans_db) as conn:
        cases = _cases(conn)
        conn.rollback()
        failures = []
        with conn.transaction(force_rollback=True):
            _set_state(conn, state)
            for name, statement, params in cases:
                plan = _explain(conn, statement, params)
                for problem in _problems(plan, walks=not name.startswith(BY_KEY)):
                    failures.append(f"{name}: {problem}")
        assert not failures, f"{state} statistics:\n" + "\n".join(failures)


def test_the_states_change_what_the_planner_believes(plans_db: str) -> None:
    """The faked statistics reach the planner (else the states above test nothing)."""
    statement = "SELECT * FROM staging_acra_companies"
    with psycopg.connect(plans_db) as conn:
        estimates = {}
        for state in STATES:
            with conn.transaction(force_rollback=True):
                _set_state(conn, state)
                estimates[state] = _explain(conn, statement, {})["Plan Rows"]
        has_stats = conn.execute(
            "SELECT count(*) FROM pg_stats WHERE tablename = 'staging_acra_companies'"
        ).fetchone()
    assert estimates["analyzed"] == pytest.approx(ROWS, rel=0.05)
    assert estimates["3M"] == pytest.approx(ROWS * SCALE, rel=0.05)
    assert has_stats and has_stats[0] > 0


def test_scored_counts_follow_the_scores(plans_db: str) -> None:
    """/icp/searches reads counts kept as scores are written, equal to a live count."""
    with psycopg.connect(plans_db) as conn, conn.transaction(force_rollback=True):
        listed = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT search_id, scored FROM (" + q("list_searches") + ") x",
                {"tenant_id": TENANT, "limit": 100},
            )
        }
        counted = dict(
            conn.execute(
                "SELECT search_id, count(*) FROM lead_scores WHERE tenant_id = %s GROUP BY 1",
                (TENANT,),
            ).fetchall()
        )
        assert listed == counted
        some = min(counted)
        conn.execute(
            "DELETE FROM lead_scores WHERE search_id = %s AND company_id %% 2 = 0", (some,)
        )
        (scored,) = conn.execute(
            "SELECT scored FROM (" + q("list_searches") + ") x WHERE search_id = %(s)s",
            {"tenant_id": TENANT, "limit": 100, "s": some},
        ).fetchone() or (None,)
        (live,) = conn.execute(
            "SELECT count(*) FROM lead_scores WHERE search_id = %s", (some,)
        ).fetchone() or (None,)
        assert scored == live


@pytest.mark.parametrize("state", STATES)
def test_a_search_filter_is_an_index_range(plans_db: str, state: str) -> None:
    """/leads?search_id= walks that search's range (lead_scores_search_rank_idx; with a
    code prefix, each code's range with the search as a filter), never the tenant's whole
    list filtered by search: a small search among big ones would read them all."""
    with psycopg.connect(plans_db) as conn:
        cases = [c for c in _cases(conn) if "leads_search_filter" in c[0]]
        conn.rollback()
        assert cases
        failures = []
        with conn.transaction(force_rollback=True):
            _set_state(conn, state)
            for name, statement, params in cases:
                walks = [
                    node.get("Index Name")
                    for node, _ in _walk(_explain(conn, statement, params))
                    if node.get("Relation Name") == "lead_scores"
                ]
                # (lead_scores_rank_idx would only check each entry's search_id). With a
                # bucket too, the bucket's range is as narrow a walk (no index has both).
                if name.startswith("leads industry"):
                    wanted = {"lead_scores_industry_rank_idx"}
                elif "leads_bucket_filter" in name:
                    wanted = {"lead_scores_search_rank_idx", "lead_scores_bucket_rank_idx"}
                else:
                    wanted = {"lead_scores_search_rank_idx"}
                if not wanted & set(walks):
                    failures.append(f"{name}: {walks}")
        assert not failures, f"{state} statistics:\n" + "\n".join(failures)
