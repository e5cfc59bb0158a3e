"""Runner throughput: the batched job runner vs one big statement vs a per-row loop.

On ``--rows`` generated staging rows, a code set matching at least 80k rows (SSIC
sections taken largest-first until the match is big enough) is processed three ways,
each from empty ``companies``/``lead_scores`` (truncated untimed before every run):

* **runner**: a queued ``staging_upsert`` job drained by ``jobs.runner.drain`` —
  keyset batches of ``STAGING_BATCH_SIZE`` (500), each one statement and one commit,
  progress and cursor recorded per batch (``UPSERT_MAX_PER_JOB`` above the match);
* **one statement**: the same ``upsert_scored`` SQL over every matching row at once
  (one ``INSERT ... SELECT ... ON CONFLICT``, one transaction) — the throughput ceiling;
* **per-row loop**: the same statement once per row (limit 1, keyset), as the system
  this replaces did, timed over the first ``PER_ROW_SAMPLE`` rows (rows/s is the measure).

``python -m bench.runner [--rows 1000000] [--repeats 3]``
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import psycopg

from bench.common import (
    RunOptions,
    Stats,
    bench_main,
    generated_database,
    goal_line,
    log,
    register,
    server_version,
    write_section,
)

TITLE = "Runner throughput"
DEFAULT_ROWS = 1_000_000
DEFAULT_REPEATS = 3
MIN_MATCH = 80_000
PER_ROW_SAMPLE = 2_000
DB_NAME = "icp_bench_gen"


def pick_codes(url: str) -> tuple[list[str], list[str], int]:
    """Return (sections, subclass codes, matching rows) with at least MIN_MATCH rows."""
    with psycopg.connect(url) as conn:
        sections = conn.execute(
            "SELECT r.section, sum(c.n) FROM staging_ssic_counts c"
            " JOIN ssic_ref r ON r.code = c.code GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
        picked: list[str] = []
        total = 0
        # Smallest sections first that still add up: keeps the match near the 80k floor.
        for section, n in sorted(sections, key=lambda s: s[1]):
            if total >= MIN_MATCH:
                break
            if int(n) + total <= MIN_MATCH * 1.6 or not picked:
                picked.append(section)
                total += int(n)
        if total < MIN_MATCH:
            section, n = sections[0]
            picked, total = [section], int(n)
        codes = [
            r[0]
            for r in conn.execute(
                "SELECT code FROM ssic_ref WHERE level = 'subclass' AND section = ANY(%s)",
                (picked,),
            )
        ]
        # Every row the job walks: by primary code, plus those matched only by a secondary.
        from db.queries import q

        exact = conn.execute(q("count_matching"), {"codes": codes}).fetchone()
        total = int(exact[0]) if exact else 0
    return picked, codes, total


def _truncate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE companies, lead_scores, background_jobs, run_stage_stats CASCADE")
        conn.execute("VACUUM ANALYZE companies")
        conn.execute("CHECKPOINT")


async def run_runner(codes: list[Any], total: int) -> float:
    """Queue one job and drain it; return seconds."""
    from db.pool import get_pool
    from jobs.queue import enqueue_staging_upsert
    from jobs.runner import drain

    pool = await get_pool()
    async with pool.connection() as conn:
        await enqueue_staging_upsert(
            conn, tenant_id="bench", terms=["bench"], codes=codes, total=total
        )
    t0 = time.perf_counter()
    reports = await drain(pool)
    elapsed = time.perf_counter() - t0
    assert reports and reports[-1].status == "done", reports
    return elapsed


async def bench_search(conn: Any, codes: list[Any]) -> int:
    """Return the bench tenant's saved search for ``codes`` (the one its job scores into)."""
    from db.companies import ensure_search

    async with conn.transaction():
        return await ensure_search(conn, tenant_id="bench", terms=["bench"], codes=codes)


async def run_one_statement(codes: list[Any]) -> tuple[float, int]:
    """Upsert every matching row in one statement; return (seconds, rows)."""
    from db.companies import upsert_scored
    from db.pool import get_pool

    pool = await get_pool()
    async with pool.connection() as conn:
        search = await bench_search(conn, codes)
        t0 = time.perf_counter()
        async with conn.transaction():
            rows = await upsert_scored(
                conn, "batch_source", codes, tenant_id="bench", search_id=search, limit=10**9
            )
        return time.perf_counter() - t0, len(rows)


async def run_per_row(codes: list[Any], n: int) -> float:
    """Upsert the first ``n`` matching rows one statement and one commit per row."""
    from db.companies import row_key, upsert_scored
    from db.pool import get_pool

    pool = await get_pool()
    after = ("", "")
    async with pool.connection() as conn:
        search = await bench_search(conn, codes)
        t0 = time.perf_counter()
        for _ in range(n):
            async with conn.transaction():
                rows = await upsert_scored(
                    conn,
                    "batch_source",
                    codes,
                    tenant_id="bench",
                    search_id=search,
                    limit=1,
                    after=after,
                )
            after = row_key(rows[0])
        return time.perf_counter() - t0


async def measure_all(
    url: str, codes: list[Any], total: int, repeats: int
) -> dict[str, list[float]]:
    """Interleave the three cases; return rows/s samples per case."""
    from config.settings import reset_settings
    from db.pool import close_pool

    os.environ.update(DATABASE_URL=url, UPSERT_MAX_PER_JOB=str(10**9), STAGING_BATCH_SIZE="500")
    reset_settings()
    rates: dict[str, list[float]] = {"runner": [], "one statement": [], "per-row loop": []}
    for i in range(repeats):
        order = list(rates) if i % 2 == 0 else list(rates)[::-1]
        for case in order:
            await asyncio.to_thread(_truncate, url)
            log(f"repeat {i + 1}/{repeats}: {case}")
            if case == "runner":
                rates[case].append(total / await run_runner(codes, total))
            elif case == "one statement":
                secs, n = await run_one_statement(codes)
                assert n == total, (n, total)
                rates[case].append(n / secs)
            else:
                rates[case].append(PER_ROW_SAMPLE / await run_per_row(codes, PER_ROW_SAMPLE))
    await close_pool()
    return rates


def _row(label: str, samples: list[float], rows: str) -> str:
    s = sorted(samples)
    st = Stats.of(s)
    return (
        f"| {label} | {rows} | {len(s)} | {st.p50:,.0f} | {s[0]:,.0f} | {s[-1]:,.0f} | "
        f"{st.spread * 100:.0f} % |"
    )


@register("runner")
def run(opts: RunOptions) -> None:
    """Benchmark entry point for bench.run."""
    from db.companies import IcpCode

    rows = opts.rows or DEFAULT_ROWS
    repeats = opts.repeats or DEFAULT_REPEATS
    url = generated_database(DB_NAME, rows)
    sections, code_list, total = pick_codes(url)
    codes = [IcpCode(c, 0.7, "bench") for c in code_list]
    log(f"{total:,} matching rows in sections {', '.join(sections)} ({len(codes)} codes)")
    rates = asyncio.run(measure_all(url, codes, total, repeats))
    med = {k: Stats.of(v).p50 for k, v in rates.items()}
    vs_one = med["runner"] / med["one statement"]
    vs_loop = med["runner"] / med["per-row loop"]
    body = "\n".join(
        [
            f"{total:,} matching rows (SSIC sections {', '.join(sections)}, {len(codes)} "
            f"subclasses) out of {rows:,} generated staging rows; companies and scores truncated "
            "before every run; cases interleaved.",
            "",
            "| case | rows per run | n | rows/s p50 | min | max | spread |",
            "|---|---|---|---|---|---|---|",
            _row("runner (keyset batches of 500, commit per batch)", rates["runner"], f"{total:,}"),
            _row("one `INSERT … SELECT … ON CONFLICT`", rates["one statement"], f"{total:,}"),
            _row(
                "per-row loop (same statement, limit 1)",
                rates["per-row loop"],
                f"{PER_ROW_SAMPLE:,}",
            ),
            "",
            goal_line("Runner / one statement", vs_one, at_least=0.75) + ".  ",
            goal_line("Runner / per-row loop", vs_loop, at_least=5, digits=1) + ".",
        ]
    )
    write_section(TITLE, body, pg_version=server_version(url))


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    return bench_main(
        run, "python -m bench.runner", argv, rows=DEFAULT_ROWS, repeats=DEFAULT_REPEATS
    )


if __name__ == "__main__":
    raise SystemExit(main())
