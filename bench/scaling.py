"""Scaling: chat, preview, filtered leads and the runner at 25k / 250k / 1M / 3M rows.

One generated database per size (``harness.generated_database``: kept across runs, so a
rerun generates nothing), each with every row a scored lead (``harness.ensure_leads``).
Per size, interleaved across the sizes:

* **chat p95**: ``graph.ainvoke`` of the phrase mix in-process (``graph_reply.local_runs``:
  blocks alternating between the databases);
* **preview p95** and **filtered /leads p95**: ``GET /icp/preview`` over the phrase mix
  (typos included) and ``GET /leads`` with a bucket and an industry, through one
  ``langgraph dev`` per size, all four up at once and asked in turn;
* **runner rows/s**: a job over the smallest SSIC sections matching at least
  min(20k, rows/4) rows, drained by ``jobs.runner.drain`` (its companies already exist:
  every size updates, none inserts), sizes in alternating order.

The goal: every column within 1.5× of its 25k value at every size (for rows/s: 25k's
over its own); the goal lines name each column's worst size.

``python -m bench.scaling [--repeats 20]`` (``--rows`` is the largest size; default 3M)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any

import httpx

from bench import harness as h
from bench.graph_reply import local_runs
from bench.leads import FILTERED, page, preview
from bench.report import goal_line, table, write_section
from bench.runner import pick_codes

TITLE = "Scaling with the registry's size"
SIZES = (25_000, 250_000, 1_000_000, 3_000_000)
GOAL = 1.5


async def runner_rates(urls: dict[int, str], repeats: int) -> dict[int, list[float]]:
    """Drain one job per size and round (sizes alternating); return rows/s per size."""
    from db.companies import IcpCode
    from db.pool import close_pool, get_pool
    from jobs.queue import enqueue_staging_upsert
    from jobs.runner import drain

    os.environ.update(UPSERT_MAX_PER_JOB=str(10**9))  # one job, as bench.runner's
    picked = {n: pick_codes(url, min(20_000, n // 4)) for n, url in urls.items()}
    out: dict[int, list[float]] = {n: [] for n in urls}
    for i in range(max(2, repeats // 5)):
        for n in list(urls) if i % 2 == 0 else list(urls)[::-1]:
            _, codes, total = picked[n]
            # Only this job is drained: the chats above left theirs queued.
            h.execute(urls[n], "DELETE FROM lead_scores WHERE tenant_id = 'bench'",
                      "DELETE FROM background_jobs")  # fmt: skip
            await h.use_database(urls[n])
            pool = await get_pool()
            async with pool.connection() as conn:
                await enqueue_staging_upsert(
                    conn, tenant_id="bench", terms=["bench"], total=total,
                    codes=[IcpCode(c, 0.7, "bench") for c in codes])  # fmt: skip
            t0 = time.perf_counter()
            reports = await drain(pool)
            out[n].append(total / (time.perf_counter() - t0))
            assert reports and reports[-1].status == "done", reports
    await close_pool()
    return out


def http_samples(servers: dict[int, str], repeats: int) -> dict[str, list[float]]:
    """Preview and filtered /leads on every size's server, interleaved."""
    with contextlib.ExitStack() as stack:
        clients = {n: stack.enter_context(httpx.Client(base_url=u, timeout=60))
                   for n, u in servers.items()}  # fmt: skip
        cases: dict[str, h.Case] = {}
        for n, http in clients.items():
            cases[f"preview {n}"] = preview(http)
            cases[f"leads {n}"] = page(http, FILTERED)
        return h.interleave(cases, repeats * 2, warmup=3)


@h.benchmark("scaling", rows=SIZES[-1], repeats=20)
def run(rows: int, repeats: int) -> None:
    """The scaling table: each size's p95s and rows/s, and their ratio to 25k's."""
    sizes = [n for n in SIZES if n < rows] + [rows]
    urls = {n: h.generated_database(n) for n in sizes}
    leads = {n: h.ensure_leads(url) for n, url in urls.items()}
    h.log("chat in-process")
    chat = asyncio.run(local_runs({str(n): u for n, u in urls.items()}, repeats * 2))
    h.log("preview and filtered /leads through one server per size")
    with contextlib.ExitStack() as stack:
        servers = {n: stack.enter_context(h.dev_server(u)).url for n, u in urls.items()}
        web = http_samples(servers, repeats)
    h.log("runner")
    rates = asyncio.run(runner_rates(urls, repeats))
    cols: dict[str, dict[int, float]] = {
        "chat p95 ms": {n: h.Stats.of(chat[str(n)]).p95 for n in sizes},
        "preview p95 ms": {n: h.Stats.of(web[f"preview {n}"]).p95 for n in sizes},
        "filtered /leads p95 ms": {n: h.Stats.of(web[f"leads {n}"]).p95 for n in sizes},
        "runner rows/s (p50)": {n: h.Stats.of(rates[n]).p50 for n in sizes},
    }
    base = sizes[0]

    def growth(col: str, n: int) -> float:  # how many times worse than at the smallest size
        v = cols[col]
        return v[base] / v[n] if col.startswith("runner") else v[n] / v[base]

    rows_md: list[list[Any]] = [[f"{n:,}", leads[n]] + [
        f"{cols[c][n]:,.1f} ({growth(c, n):.2f}\u00d7)" for c in cols] for n in sizes]
    worst = {c: max((growth(c, n), n) for n in sizes[1:] or sizes)[1] for c in cols}
    goals = [goal_line(f"{c.split(' (')[0]}, worst size ({worst[c]:,}) / {base:,}",
                       growth(c, worst[c]), at_most=GOAL) for c in cols]  # fmt: skip
    write_section(TITLE, "\n".join([
        f"Generated databases of {', '.join(f'{n:,}' for n in sizes)} staging rows (seed "
        f"{h.SEED}), every row a scored lead of one tenant. Chat: {len(h.PHRASES)} phrases "
        "in-process, blocks alternating between the sizes; preview (the same phrases, typos "
        f"included) and `/leads?bucket=medium&industry_code=46`: one `langgraph dev` per size, "
        "asked in turn; runner: one job per size and round, sizes alternating. In brackets: "
        f"times worse than at {base:,} (for rows/s: {base:,}'s over its own).",
        "",
        table(["staging rows", "scored leads", *cols], rows_md),
        "",
        *(g + "." for g in goals),
    ]), pg_version=h.server_version(urls[sizes[-1]]))  # fmt: skip


if __name__ == "__main__":
    h.cli(run)
