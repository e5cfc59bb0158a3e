"""50 concurrent chats through ``langgraph dev``: the graph's own time vs a single chat.

``langgraph dev`` as the product ships it (``icp dev``: ``--n-jobs-per-worker``
``icp.devserver.DEFAULT_JOBS``) on ``--rows`` generated staging rows. Single chats one at a
time (the baseline), then waves of 50 chats sent at once, the phrase mix
(``harness.PHRASES``) over five tenants as a sales team would. Every chat is a stateless
run streamed in debug mode: the tasks' server timestamps split it into the runtime's
queue wait and the graph's own time, per node (``harness.streamed_run``). The goal is on
the graph's own time; the whole run, queue included, is reported beside it. The server
process's RSS is sampled at rest (after warm-up) and every 50 ms under load (peak).

Then the same waves on servers admitting ``ADMISSION`` runs at once: the evidence for the
default (more admitted runs share one event loop, so each takes longer; the rest queue).

``python -m bench.concurrency [--rows 1000000] [--repeats 3]``
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

import psutil

from bench import harness as h
from bench.report import goal_line, stats_table, table, write_section
from icp.devserver import DEFAULT_JOBS

TITLE = "50 concurrent chats"
CONCURRENCY = 50
ADMISSION = (2, 4, 8, 16, 50)
"""``--n-jobs-per-worker`` values the waves are repeated with (the default among them)."""


class RssSampler:
    """Sample a process tree's resident memory in a background thread."""

    def __init__(self, pid: int) -> None:
        """Watch process ``pid`` and its children."""
        self.proc, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
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


Runs = dict[str, list[h.RunTimes]]
GRAPHS = ("icp_search", "noop")


async def chat(client: object, graph: str, i: int) -> h.RunTimes:
    """Run chat ``i`` of the mix (phrase and tenant by ``i``) on ``graph``."""
    config = {"configurable": {"tenant_id": f"t{i % 5}"}}
    return await h.streamed_run(client, graph, h.PHRASES[i % len(h.PHRASES)], config)


async def measure(url: str, pid: int, repeats: int) -> tuple[Runs, Runs, tuple[int, int]]:
    """Single chats, then the waves, each alternating between the product and the no-op
    graph; return (single, waves, (RSS at rest, RSS peak))."""
    from langgraph_sdk import get_client

    single: Runs = {g: [] for g in GRAPHS}
    waves: Runs = {g: [] for g in GRAPHS}
    async with get_client(url=url, timeout=120) as client:
        for i in range(10):  # warm up: plans, pool, the graph's imports
            await chat(client, GRAPHS[i % 2], i)
        sampler = RssSampler(pid)
        rest = sampler.rss()
        for i in range(20 * repeats):
            for g in GRAPHS if i % 2 == 0 else GRAPHS[::-1]:
                single[g].append(await chat(client, g, i))
        with sampler:
            for w in range(repeats):
                for g in GRAPHS if w % 2 == 0 else GRAPHS[::-1]:
                    h.log(f"wave {w + 1}/{repeats}: {CONCURRENCY} {g} chats at once")
                    waves[g] += await asyncio.gather(
                        *(chat(client, g, i) for i in range(CONCURRENCY)))  # fmt: skip
                    await asyncio.sleep(1)
    return single, waves, (rest, sampler.peak)


async def waves_only(url: str, repeats: int) -> list[h.RunTimes]:
    """Warm up, then ``repeats`` waves of ``icp_search`` chats; return their runs."""
    from langgraph_sdk import get_client

    runs: list[h.RunTimes] = []
    async with get_client(url=url, timeout=120) as client:
        for i in range(10):
            await chat(client, GRAPHS[i % 2], i)
        for w in range(repeats):
            h.log(f"wave {w + 1}/{repeats}: {CONCURRENCY} icp_search chats at once")
            wave = (chat(client, "icp_search", i) for i in range(CONCURRENCY))
            runs += await asyncio.gather(*wave)
            await asyncio.sleep(1)
    return runs


Admission = dict[int, tuple[list[h.RunTimes], float]]  # jobs -> (the waves' runs, load avg)


def admission(url: str, repeats: int, default: tuple[list[h.RunTimes], float]) -> Admission:
    """Repeat the ``icp_search`` waves on a server per ``ADMISSION`` value (the default's
    runs are the main measurement's)."""
    out: Admission = {DEFAULT_JOBS: default}
    for jobs in ADMISSION:
        if jobs == DEFAULT_JOBS:
            continue
        h.log(f"--n-jobs-per-worker {jobs}")
        with h.dev_server(url, config=h.BENCH_CONFIG, jobs=jobs) as srv:
            runs = asyncio.run(waves_only(srv.url, repeats))
        out[jobs] = (runs, os.getloadavg()[0])
    return out


def whole_p95(adm: Admission, jobs: int) -> float:
    """Return the whole run's p95 (ms) of the waves at ``jobs`` admitted runs."""
    return h.Stats.of([rt.total for rt in adm[jobs][0] if rt.ok]).p95


def admission_table(adm: Admission, single_p95: float) -> str:
    """Return own time and whole run under the waves, per admitted-runs setting."""
    rows = []
    for jobs in sorted(adm):
        runs, load = adm[jobs]
        ok = [rt for rt in runs if rt.ok]
        g, t = h.Stats.of([rt.graph for rt in ok]), h.Stats.of([rt.total for rt in ok])
        q = h.Stats.of([rt.queue for rt in ok])
        label = f"**{jobs}** (default)" if jobs == DEFAULT_JOBS else str(jobs)
        rows.append([label, len(ok), len(runs) - len(ok), g.p50, g.p95, g.p95 / single_p95,
                     q.p50, t.p50, t.p95, t.max, f"{load:.1f}"])  # fmt: skip
    header = ["runs admitted", "runs", "errors", "own p50 ms", "own p95 ms",
              "own p95 / single", "queue p50 ms", "whole p50 ms", "whole p95 ms",
              "whole max ms", "load avg"]  # fmt: skip
    return table(header, rows)


def node_table(single: list[h.RunTimes], waves: list[h.RunTimes]) -> str:
    """Return each node's own time, alone and under the waves (p50 / p95 ms)."""
    names = sorted({n for rt in single + waves for n in rt.nodes}, key=lambda n: n != "route")
    rows = []
    for name in names:
        st = [h.Stats.of([rt.nodes[name] for rt in rts if name in rt.nodes] or [0.0])
              for rts in (single, waves)]  # fmt: skip
        rows.append([name, st[0].n, st[0].p50, st[0].p95, st[1].n, st[1].p50, st[1].p95])
    header = ["node", "runs alone", "p50 ms", "p95 ms", f"runs, {CONCURRENCY} at once"]
    return table(header + ["p50 ms", "p95 ms"], rows)


@h.benchmark("concurrency")
def run(rows: int, repeats: int) -> None:
    """Single chats, then waves of 50; the graph's own time, per node, and the whole run."""
    url = h.generated_database(rows)
    with h.dev_server(url, config=h.BENCH_CONFIG, jobs=DEFAULT_JOBS) as srv:
        single, waves, rss = asyncio.run(measure(srv.url, srv.proc.pid, repeats))
    adm = admission(url, repeats, (waves["icp_search"], os.getloadavg()[0]))
    errors = sum(not rt.ok for runs in (*single.values(), *waves.values()) for rt in runs)
    ok = {(g, k): [rt for rt in runs[g] if rt.ok] for g in GRAPHS
          for k, runs in (("single", single), ("waves", waves))}  # fmt: skip
    stats: dict[str, h.Stats] = {}
    for g in GRAPHS:
        for part, what in (("graph", "graph's own time"), ("total", "whole run")):
            for k, label in (("single", "one chat at a time"), ("waves", f"{CONCURRENCY} at once")):
                stats[f"{g}: {what}, {label}"] = h.Stats.of([getattr(rt, part) for rt in ok[g, k]])
    g1, gn = stats["icp_search: graph's own time, one chat at a time"], stats[
        f"icp_search: graph's own time, {CONCURRENCY} at once"]  # fmt: skip
    n1, nn = stats["noop: graph's own time, one chat at a time"], stats[
        f"noop: graph's own time, {CONCURRENCY} at once"]  # fmt: skip
    mib = 1024 * 1024
    write_section(TITLE, "\n".join([
        f"`langgraph dev --n-jobs-per-worker {DEFAULT_JOBS}` (the product's default: `icp dev`, "
        f"`make dev`) on {rows:,} generated rows; stateless runs streamed in debug mode; "
        f"{len(h.PHRASES)} phrases over five tenants; "
        f"{repeats} waves of {CONCURRENCY} simultaneous chats vs chats sent one at a time, each "
        "alternating between `icp_search` and the no-op 4-node graph (the runtime's own cost "
        "per run). The graph's own time is first node started → last node finished (server "
        "timestamps of the debug stream's tasks): the dev runtime's run-queue wait is outside "
        "it; the whole run includes it. A wave's chats beyond the runs the server admits wait "
        "in the runtime's queue (whole run), not inside the graph (own time).",
        "",
        stats_table(stats),
        "",
        goal_line("Graph's own time p95, concurrent / single", gn.p95 / g1.p95, at_most=3,
                  also=errors == 0)
        + f"; errors: {errors} runs. The no-op graph on the same server: "
        f"{nn.p95 / n1.p95:.1f}× ({n1.p95:,.0f} → {nn.p95:,.0f} ms at p95), so of the "
        f"product's {gn.p95:,.0f} ms at p95 under the waves about {nn.p95:,.0f} ms is the "
        "runtime's per-run work queued on the same event loop.",
        "",
        "Each node's own time in `icp_search`:",
        "",
        node_table(ok["icp_search", "single"], ok["icp_search", "waves"]),
        "",
        f"Server RSS (process and children): {rss[0] / mib:,.0f} MiB at rest after warm-up, "
        f"{rss[1] / mib:,.0f} MiB peak under the concurrent waves.",
        "",
        f"Runs admitted at once (`--n-jobs-per-worker`), {repeats} waves of {CONCURRENCY} "
        "`icp_search` chats on a fresh server per value (the default's row is the waves above; "
        "own p95 / single divides by the single chats' p95 above; load avg after each):",
        "",
        admission_table(adm, g1.p95),
        "",
        "One `langgraph dev` runs every admitted run on one event loop: each run admitted "
        "stretches the others' own time (they take turns on the loop and on the database's "
        "cores); the runs not admitted wait in the queue, which the whole run shows: here "
        f"its p95 was {whole_p95(adm, DEFAULT_JOBS) / 1000:.1f} s with {DEFAULT_JOBS} "
        f"admitted vs {whole_p95(adm, max(ADMISSION)) / 1000:.1f} s with all "
        f"{max(ADMISSION)}.",
    ]), pg_version=h.server_version(url))  # fmt: skip


if __name__ == "__main__":
    h.cli(run)
