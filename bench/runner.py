"""Runner throughput: the batched job runner vs the real one-statement bound vs a plain loop.

On a copy of the ``--rows`` generated database (the cases truncate its companies and
scores, which the other benchmarks keep), a code set matching at least 80k rows (SSIC
sections taken smallest-first until the match is big enough) is processed three ways,
each from empty ``companies``/``lead_scores`` (truncated untimed before every run),
interleaved:

* **runner**: a queued ``staging_upsert`` job drained by ``jobs.runner.drain`` — keyset
  batches of ``STAGING_BATCH_SIZE`` (the product's setting), each one statement and one
  commit, progress and cursor recorded per batch;
* **one statement**: the product's ``upsert_scored`` over every matching row at once, its
  source unsorted and unlimited and its result counted in the server (one ``INSERT …
  SELECT … ON CONFLICT``, one transaction, one row back): the throughput ceiling;
* **plain loop**: the same statement once per row (limit 1, keyset), committing every 500
  rows, timed over the first ``LOOP_SAMPLE`` rows (rows/s is the measure).

``python -m bench.runner [--rows 1000000] [--repeats 3]``
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import psycopg

from bench import harness as h
from bench.report import goal_line, table, write_section

TITLE = "Runner throughput"
MIN_MATCH = 80_000
LOOP_SAMPLE = 2_000
COMMIT_EVERY = 500
ALL_SOURCE = """SELECT s.*, s.primary_ssic_code AS match_code, false AS match_secondary
    FROM staging_acra_companies s WHERE s.primary_ssic_code = ANY(%(codes)s::text[])
    UNION ALL
    SELECT s.*, s.secondary_ssic_code, true FROM staging_acra_companies s
    WHERE s.secondary_ssic_code = ANY(%(codes)s::text[])
      AND NOT coalesce(s.primary_ssic_code = ANY(%(codes)s::text[]), false)"""


def pick_codes(url: str, min_match: int = MIN_MATCH) -> tuple[list[str], list[str], int]:
    """Return (sections, subclass codes, matching rows) with at least ``min_match`` rows."""
    from db.queries import q

    with psycopg.connect(url) as conn:
        sections = conn.execute(
            "SELECT r.section, sum(c.n) FROM staging_ssic_counts c"
            " JOIN ssic_ref r ON r.code = c.code GROUP BY 1 ORDER BY 2"
        ).fetchall()
        picked: list[str] = []
        total = 0
        for section, n in sections:  # smallest first that still add up: near the floor
            if total < min_match and (int(n) + total <= min_match * 1.6 or not picked):
                picked.append(section)
                total += int(n)
        if total < min_match:  # the smallest section that is big enough on its own
            picked = [next((s for s, n in sections if int(n) >= min_match), sections[-1][0])]
        codes = [str(r[0]) for r in conn.execute(
            "SELECT code FROM ssic_ref WHERE level = 'subclass' AND section = ANY(%s)",
            (picked,))]  # fmt: skip
        # Every row the job walks: by primary code, plus those matched only by a secondary.
        exact = conn.execute(q("count_matching"), {"codes": codes}).fetchone()
    return picked, codes, int(exact[0]) if exact else 0


def one_statement_sql() -> str:
    """Return ``upsert_scored`` over every matching row, unsorted, counted in the server."""
    from db.queries import q

    head, sep, _ = q("upsert_scored").replace("/*source*/", ALL_SOURCE).rpartition(
        "\nSELECT ins.company_id")
    assert sep, "upsert_scored no longer ends with its SELECT from ins"
    return head + "\nSELECT count(*) FROM ins"


async def bench_search(conn: Any, codes: list[Any]) -> int:
    """Return the bench tenant's saved search for ``codes`` (the one its job scores into)."""
    from db.companies import ensure_search

    async with conn.transaction():
        return await ensure_search(conn, tenant_id="bench", terms=["bench"], codes=codes)


async def run_runner(pool: Any, codes: list[Any], total: int) -> int:
    """Queue one job and drain it; return the rows it processed."""
    from jobs.queue import enqueue_staging_upsert
    from jobs.runner import drain

    async with pool.connection() as conn:
        await enqueue_staging_upsert(
            conn, tenant_id="bench", terms=["bench"], codes=codes, total=total)  # fmt: skip
    reports = await drain(pool)
    assert reports and reports[-1].status == "done", reports
    return total


async def run_one_statement(pool: Any, codes: list[Any]) -> int:
    """Upsert every matching row in one statement; return the rows it wrote."""
    from db.companies import icp_params

    async with pool.connection() as conn:
        params = {**icp_params(codes), "tenant_id": "bench", "job_id": None,
                  "search_id": await bench_search(conn, codes)}  # fmt: skip
        async with conn.transaction():
            row = await (await conn.execute(one_statement_sql(), params, prepare=False)).fetchone()
    return int(row[0])


async def run_loop(pool: Any, codes: list[Any], n: int = LOOP_SAMPLE) -> int:
    """Upsert the first ``n`` matching rows one statement per row, committing every 500."""
    from db.companies import row_key, upsert_scored

    after = ("", "")
    async with pool.connection() as conn:
        search = await bench_search(conn, codes)
        for done in range(0, n, COMMIT_EVERY):
            async with conn.transaction():
                for _ in range(min(COMMIT_EVERY, n - done)):
                    rows = await upsert_scored(conn, "batch_source", codes, tenant_id="bench",
                                               search_id=search, limit=1, after=after)
                    after = row_key(rows[0])  # fmt: skip
    return n


CASES = {"runner": run_runner, "one statement": run_one_statement, "plain loop": run_loop}


async def rates(url: str, codes: list[Any], total: int, repeats: int,
                cases: tuple[str, ...] = tuple(CASES)) -> dict[str, list[float]]:  # fmt: skip
    """Interleave the cases, each from empty tables; return rows/s samples per case."""
    from db.pool import close_pool, get_pool

    os.environ.update(UPSERT_MAX_PER_JOB=str(10**9))  # the batch size is the product's
    await h.use_database(url)
    pool = await get_pool()
    out: dict[str, list[float]] = {case: [] for case in cases}
    for i in range(repeats):
        for case in cases if i % 2 == 0 else cases[::-1]:
            await asyncio.to_thread(
                h.execute, url, "TRUNCATE companies, lead_scores, background_jobs,"
                " run_stage_stats CASCADE", "VACUUM ANALYZE companies", "CHECKPOINT")  # fmt: skip
            h.log(f"repeat {i + 1}/{repeats}: {case}")
            t0 = time.perf_counter()
            args = (pool, codes, total) if case == "runner" else (pool, codes)
            n = await CASES[case](*args)  # type: ignore[operator]
            assert case == "plain loop" or n == total, (case, n, total)
            out[case].append(n / (time.perf_counter() - t0))
    await close_pool()
    return out


@h.benchmark("runner")
def run(rows: int, repeats: int) -> None:
    """Rows/s of the runner, the one-statement bound and the plain loop."""
    from db.companies import IcpCode

    # A copy: the cases truncate companies and scores, which the other benchmarks keep.
    url = h.database_copy(h.generated_database(rows), "icp_bench_runner")
    sections, code_list, total = pick_codes(url)
    codes = [IcpCode(c, 0.7, "bench") for c in code_list]
    h.log(f"{total:,} matching rows in sections {', '.join(sections)} ({len(codes)} codes)")
    res = {k: h.Stats.of(v) for k, v in asyncio.run(rates(url, codes, total, repeats)).items()}
    from config.settings import get_settings

    batch = get_settings().staging_batch_size
    labels = {"runner": f"runner (keyset batches of {batch}, commit per batch)",
              "one statement": "one `INSERT … SELECT … ON CONFLICT` (unsorted, counted in SQL)",
              "plain loop": f"plain loop (one row per statement, commit every {COMMIT_EVERY})"}
    write_section(TITLE, "\n".join([
        f"{total:,} matching rows (SSIC sections {', '.join(sections)}, {len(codes)} "
        f"subclasses) out of {rows:,} generated staging rows; companies and scores truncated "
        "before every run; cases interleaved.",
        "",
        table(["case", "rows per run", "n", "rows/s p50", "min", "max", "spread"],
              [[labels[k], LOOP_SAMPLE if k == "plain loop" else total, s.n, round(s.p50),
                round(s.min), round(s.max), f"{s.spread * 100:.0f} %"] for k, s in res.items()]),
        "",
        goal_line("Runner / one statement", h.ratio(res["runner"], res["one statement"]),
                  at_least=0.75) + ".  ",
        goal_line("Runner / plain loop", h.ratio(res["runner"], res["plain loop"]),
                  at_least=5, digits=1) + ".",
    ]), pg_version=h.server_version(url))  # fmt: skip


if __name__ == "__main__":
    h.cli(run)
