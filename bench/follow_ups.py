"""Follow-up time-to-reply: a thread's follow-ups vs a new search, the graph in-process.

On the generated ``--rows`` database (1M by default, shared with bench.graph_reply), after
the search's job has scored every matching company, blocks alternate between (a) new
searches, "Manufacturing" on a fresh thread each (normalize -> head_upsert -> enqueue ->
respond), and (b) one thread that searches once and then asks the follow-ups a salesperson
asks (more, filters, explain, job status, small talk, a cleared filter). Both run the same
compiled graph with an in-memory checkpointer, as the server keeps threads. The goal: the
follow-ups' p95 is at most the new search's p95.

``python -m bench.follow_ups [--rows 1000000] [--repeats 40]``
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

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

TITLE = "Follow-up time-to-reply (in-process graph)"
DEFAULT_ROWS = 1_000_000
DEFAULT_REPEATS = 40
BLOCK = 10
SEARCH = "Manufacturing"
FOLLOW_UPS = (
    "more",
    "only live companies",
    "in Jurong",
    "next 10",
    "why #1?",
    "how is my job doing?",
    "incorporated after 2015",
    "why 80?",
    "any age",
    "at least 3 officers",
    "clear filters",
    "thanks",
)


def _message(text: str) -> dict[str, Any]:
    return {"messages": [{"type": "human", "content": [{"type": "text", "text": text}]}]}


async def _timed(chat: Any, text: str, thread: str) -> tuple[float, dict[str, Any]]:
    config = {"configurable": {"thread_id": thread}}
    t0 = time.perf_counter()
    out = await chat.ainvoke(_message(text), config)
    return (time.perf_counter() - t0) * 1000, out


def analyze(url: str) -> None:
    """Refresh the planner's statistics after the job's bulk upsert, as autovacuum's analyze
    does within a minute or so (without them the tenant's 50k fresh scores look like 800)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE lead_scores")
        conn.execute("ANALYZE companies")


async def runs(url: str, repeats: int) -> tuple[list[float], dict[str, list[float]]]:
    """Score the search's companies, then time new searches and follow-ups in blocks."""
    from langgraph.checkpoint.memory import InMemorySaver

    from config.settings import reset_settings
    from db.pool import close_pool
    from graph.graph import builder
    from jobs.runner import drain

    os.environ["DATABASE_URL"] = url
    reset_settings()
    chat = builder.compile(checkpointer=InMemorySaver())
    _, out = await _timed(chat, SEARCH, "warm")
    log(f"draining job {out['job']['job_id'] if out.get('job') else '-'} so pages have leads")
    await drain()
    analyze(url)
    searches: list[float] = []
    follow: dict[str, list[float]] = {text: [] for text in FOLLOW_UPS}
    blocks = max(1, repeats // BLOCK)
    for b in range(blocks):
        for _ in range(3):  # warm the plans of both kinds
            await _timed(chat, SEARCH, f"warm-{b}-{_}")
        for i in range(BLOCK):
            ms, out = await _timed(chat, SEARCH, f"search-{b}-{i}")
            assert out["head"] and not out.get("errors"), out["messages"][-1].content
            searches.append(ms)
        thread = f"follow-{b}"
        await _timed(chat, SEARCH, thread)
        for text in FOLLOW_UPS:
            ms, out = await _timed(chat, text, thread)
            assert out["intent"] != "search" and not out.get("errors"), text
            follow[text].append(ms)
    await close_pool()
    return searches, follow


def report(searches: list[float], follow: dict[str, list[float]], rows: int, pg: str) -> None:
    """Write the section of BENCHMARKS.md."""
    new = Stats.of(searches)
    every = Stats.of([ms for samples in follow.values() for ms in samples])
    r = every.p95 / new.p95
    lines = [
        f"{rows:,} generated staging rows, every Manufacturing company scored (the search's "
        f"job drained first, then ANALYZE); {BLOCK} new searches (fresh threads) then one thread's "
        f"{len(FOLLOW_UPS)} follow-ups per block, alternating; one compiled graph with an "
        "in-memory checkpointer.",
        "",
        Stats.header(),
        new.row(f"new search \u201c{SEARCH}\u201d"),
        every.row("all follow-ups"),
        *(Stats.of(samples).row(f"\u201c{text}\u201d") for text, samples in follow.items()),
        "",
        goal_line("Follow-ups p95 / new search p95", r, at_most=1.0)
        + f" (p50 ratio {ratio(every, new):.2f}).",
    ]
    write_section(TITLE, "\n".join(lines), pg_version=pg)


@register("follow-ups")
def run(opts: RunOptions) -> None:
    """Benchmark entry point for bench.run."""
    rows = opts.rows or DEFAULT_ROWS
    repeats = opts.repeats or DEFAULT_REPEATS
    url = generated_database("icp_bench_gen", rows)
    log("in-process follow-ups vs new searches")
    searches, follow = asyncio.run(runs(url, repeats))
    report(searches, follow, rows, server_version(url))


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    return bench_main(
        run, "python -m bench.follow_ups", argv, rows=DEFAULT_ROWS, repeats=DEFAULT_REPEATS
    )


if __name__ == "__main__":
    raise SystemExit(main())
