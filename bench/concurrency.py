"""50 concurrent chats through ``langgraph dev``: latency vs a single chat, and server memory.

One ``langgraph dev --n-jobs-per-worker 50`` on ``--rows`` generated staging rows. First
single chats one at a time (the baseline), then waves of 50 chats sent at once, mixing ten
industries over five tenants as a sales team would. Every chat is a stateless
``runs.wait``; an error or a reply without text counts as an error. The server process's
RSS is sampled at rest (after warm-up) and every 50 ms under load (peak reported).

``python -m bench.concurrency [--rows 1000000] [--repeats 3]``
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import psutil

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

TITLE = "50 concurrent chats"
DEFAULT_ROWS = 1_000_000
DEFAULT_REPEATS = 3
CONCURRENCY = 50
DB_NAME = "icp_bench_gen"
INDUSTRIES = [
    "Manufacturing", "bakery", "restaurants", "software development", "logistics",
    "construction", "real estate", "hairdressing", "wholesale of food", "IT consultancy",
]  # fmt: skip


def _input(i: int) -> dict[str, Any]:
    text = INDUSTRIES[i % len(INDUSTRIES)]
    return {"messages": [{"type": "human", "content": [{"type": "text", "text": text}]}]}


class RssSampler:
    """Sample a process tree's resident memory in a background thread."""

    def __init__(self, pid: int) -> None:
        """Watch process ``pid`` and its children."""
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        """Return the current RSS of the process and its children, in bytes."""
        total = self.proc.memory_info().rss
        for child in self.proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return int(total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.05)

    def __enter__(self) -> RssSampler:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def chat(client: Any, i: int) -> tuple[float, bool]:
    """Send one chat; return (ms, ok)."""
    t0 = time.perf_counter()
    try:
        out = await client.runs.wait(
            None, "icp_search", input=_input(i), config={"configurable": {"tenant_id": f"t{i % 5}"}}
        )
        ok = bool(out["messages"][-1]["content"]) and out["messages"][-1]["type"] == "ai"
    except Exception:  # noqa: BLE001 - any failure is an error in the table
        ok = False
    return (time.perf_counter() - t0) * 1000, ok


async def measure(url: str, pid: int, repeats: int) -> dict[str, Any]:
    """Run the single-chat baseline and the concurrent waves."""
    from langgraph_sdk import get_client

    async with get_client(url=url, timeout=120) as client:
        for i in range(10):  # warm up: plans, pool, the graph's imports
            await chat(client, i)
        sampler = RssSampler(pid)
        rest = sampler.rss()
        single: list[float] = []
        errors_single = 0
        for i in range(20 * repeats):
            ms, ok = await chat(client, i)
            single.append(ms)
            errors_single += not ok
        waves: list[float] = []
        errors = 0
        with sampler:
            for w in range(repeats):
                log(f"wave {w + 1}/{repeats}: {CONCURRENCY} chats at once")
                results = await asyncio.gather(*(chat(client, i) for i in range(CONCURRENCY)))
                waves += [ms for ms, _ in results]
                errors += sum(1 for _, ok in results if not ok)
        return {
            "single": Stats.of(single),
            "concurrent": Stats.of(waves),
            "errors": errors,
            "errors_single": errors_single,
            "rss_rest": rest,
            "rss_peak": sampler.peak,
        }


@register("concurrency")
def run(opts: RunOptions) -> None:
    """Benchmark entry point for bench.run."""
    from icp.devserver import start_server

    rows = opts.rows or DEFAULT_ROWS
    repeats = opts.repeats or DEFAULT_REPEATS
    url = generated_database(DB_NAME, rows)
    srv = start_server(url, jobs=CONCURRENCY)
    try:
        res = asyncio.run(measure(srv.url, srv.proc.pid, repeats))
    finally:
        srv.stop()
    single, conc = res["single"], res["concurrent"]
    r = conc.p95 / single.p95
    mib = 1024 * 1024
    body = "\n".join(
        [
            f"`langgraph dev --n-jobs-per-worker {CONCURRENCY}` on {rows:,} generated rows; "
            f"stateless `runs.wait`; ten industries over five tenants; {repeats} waves of "
            f"{CONCURRENCY} simultaneous chats vs chats sent one at a time.",
            "",
            Stats.header(),
            single.row("one chat at a time"),
            conc.row(f"{CONCURRENCY} at once"),
            "",
            goal_line("p95 concurrent / p95 single", r, at_most=3, also=res["errors"] == 0)
            + "; errors: "
            f"{res['errors']} of {conc.n} concurrent, {res['errors_single']} of {single.n} single.",
            "",
            f"Server RSS (process and children): {res['rss_rest'] / mib:,.0f} MiB at rest after "
            f"warm-up, {res['rss_peak'] / mib:,.0f} MiB peak under the concurrent waves.",
            "",
            "Both rows include the dev runtime's 0.5 s run-queue poll (see the server section).",
        ]
    )
    write_section(TITLE, body, pg_version=server_version(url))


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    return bench_main(
        run, "python -m bench.concurrency", argv, rows=DEFAULT_ROWS, repeats=DEFAULT_REPEATS
    )


if __name__ == "__main__":
    raise SystemExit(main())
