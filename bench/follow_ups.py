"""Follow-up time-to-reply: a thread's follow-ups vs a new search, the graph in-process.

On the generated ``--rows`` database (shared with bench.graph_reply), after the search's
job has scored every matching company, blocks alternate between (a) new searches of the
phrase mix (``harness.PHRASES``), each on a fresh thread (normalize -> head_upsert ->
enqueue -> respond), and (b) one thread that searches "Manufacturing" once and then asks
the follow-ups a salesperson asks (``harness.FOLLOW_UPS``: more, filters, explain, job
status, small talk, a cleared filter). Both run the same compiled graph with an in-memory
checkpointer, as the server keeps threads. The goal: the follow-ups' p95 is at most the
new searches' p95.

Pages before the job runs: each new search's job stays queued (no runner here, as under
``JOBS_START=nightly``), so "more" and "in Jurong" on that search's thread score the best
companies ahead of it (``nodes.follow_up.score_ahead``); they are timed apart, after the
blocks, with the goal of the routes the product owns (p95 under 300 ms). Interleaved with
the blocks (one run, 2026-11-29 18:30), their writes made the filtered follow-ups read
right after them about twice as slow (p50 19-26 vs 8-13 ms): each page upserts its
companies again, new row versions that the next filtered pages step over until vacuum.

``python -m bench.follow_ups [--rows 1000000] [--repeats 40]``
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import harness as h
from bench.report import goal_line, stats_table, write_section

TITLE = "Follow-up time-to-reply (in-process graph)"
BLOCK = 10
SEARCH = "Manufacturing"
AHEAD = ("more", "in Jurong")
"""Pages a salesperson asks for before the search's job has run (scored ahead of it)."""


Samples = dict[str, list[float]]


async def runs(url: str, repeats: int) -> tuple[list[float], Samples, Samples]:
    """Score the search's companies, then time new searches and follow-ups in blocks."""
    from langgraph.checkpoint.memory import InMemorySaver

    from db.pool import close_pool
    from graph.graph import builder
    from jobs.runner import drain

    await h.use_database(url)
    chat = builder.compile(checkpointer=InMemorySaver())

    async def timed(text: str, thread: str) -> tuple[float, dict[str, Any]]:
        t0 = time.perf_counter()
        out = await chat.ainvoke(h.message(text), {"configurable": {"thread_id": thread}})
        assert not out.get("errors"), (text, out["messages"][-1].content)
        return h.ms_since(t0), out

    # Only this search's job is drained: earlier chats (other benchmarks) left theirs queued.
    await asyncio.to_thread(h.execute, url, "DELETE FROM background_jobs")
    out = (await timed(SEARCH, "warm"))[1]
    h.log(f"draining job {out['job']['job_id'] if out.get('job') else '-'} so pages have leads")
    await drain()
    # Planner statistics after the job's bulk upsert, as autovacuum's analyze would give
    # within a minute (without them the tenant's 50k fresh scores look like 800).
    await asyncio.to_thread(h.execute, url, "ANALYZE lead_scores", "ANALYZE companies")
    searches: list[float] = []
    follow: dict[str, list[float]] = {text: [] for text in h.FOLLOW_UPS}
    ahead: dict[str, list[float]] = {text: [] for text in AHEAD}
    queued: list[str] = []  # threads of new searches whose jobs wait (no runner here)
    for b in range(max(1, repeats // BLOCK)):
        for i in range(3):  # warm the plans of both kinds
            await timed(h.PHRASES[i], f"warm-{b}-{i}")
        for i in range(BLOCK):
            thread = f"search-{b}-{i}"
            ms, out = await timed(h.PHRASES[(b * BLOCK + i) % len(h.PHRASES)], thread)
            searches.append(ms)
            if out.get("job") and out["job"]["status"] == "queued":
                queued.append(thread)
        await timed(SEARCH, f"follow-{b}")
        for text in h.FOLLOW_UPS:
            ms, out = await timed(text, f"follow-{b}")
            assert out["intent"] != "search", text
            follow[text].append(ms)
    # Then the pages scored ahead of those searches' queued jobs: after the comparison, as
    # their writes (rows upserted again) slow the filtered follow-ups read just after them.
    for thread in queued:
        for text in AHEAD:
            ms, page = await timed(text, thread)
            assert page.get("page_exact"), (text, page["messages"][-1].content)
            ahead[text].append(ms)
    await close_pool()
    return searches, follow, ahead


@h.benchmark("follow-ups", repeats=40)
def run(rows: int, repeats: int) -> None:
    """New searches vs one thread's follow-ups, in alternating blocks."""
    url = h.generated_database(rows)
    h.log("in-process follow-ups vs new searches")
    searches, follow, ahead = asyncio.run(runs(url, repeats))
    new = h.Stats.of(searches)
    every = h.Stats.of([ms for samples in follow.values() for ms in samples])
    table = {"new search (the phrase mix)": new, "all follow-ups": every}
    table.update({f"\u201c{text}\u201d": h.Stats.of(s) for text, s in follow.items()})
    before = {f"\u201c{t}\u201d before the job runs": h.Stats.of(s) for t, s in ahead.items()}
    slowest = max(before.values(), key=lambda st: st.p95)
    write_section(TITLE, "\n".join([
        f"{rows:,} generated staging rows, every {SEARCH} company scored (the search's job "
        f"drained first, then ANALYZE); {BLOCK} new searches of the {len(h.PHRASES)}-phrase "
        f"mix (fresh threads), then one {SEARCH} thread's {len(h.FOLLOW_UPS)} follow-ups per "
        "block, alternating; one compiled graph with an in-memory checkpointer.",
        "",
        stats_table(table),
        "",
        goal_line("Follow-ups p95 / new search p95", every.p95 / new.p95, at_most=1.0)
        + f" (p50 ratio {h.ratio(every, new):.2f}).",
        "",
        "Pages before the job runs, on the new searches' threads (their jobs queued), after "
        "the blocks: the page scores the best companies ahead of the job, then reads them.",
        "",
        stats_table(before),
        "",
        goal_line("Slowest page before the job runs, p95", slowest.p95, at_most=300,
                  unit="ms", digits=1) + ".",
    ]), pg_version=h.server_version(url))  # fmt: skip


if __name__ == "__main__":
    h.cli(run)
