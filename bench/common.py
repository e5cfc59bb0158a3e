"""Shared benchmark harness: scratch databases, timing statistics, BENCHMARKS.md sections.

Benchmarks are not tests: each one measures both sides of a ratio in the same run,
interleaved and repeated, and reports p50/p95/spread. A benchmark module registers
itself with :func:`register`; ``python -m bench.run`` imports every module of the
package and runs what registered.

The server is ``BENCH_DATABASE_URL`` when set, else an embedded PostgreSQL in
``.data/bench-pg`` (separate from the product's ``.data/pg`` and the tests').
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import math
import os
import platform
import re
import shlex
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
EMBEDDED_DIR = ROOT / ".data" / "bench-pg"

_HEADER = """# Benchmarks

Measured by `make bench` (`python -m bench.run`); each section is rewritten in place by
its benchmark and names the exact command that produced it. Benchmarks are not tests:
both sides of every ratio are measured in the same run, interleaved and repeated, on a
shared machine, so read p50 together with p95 and the spread.
"""

_server: Any = None  # the embedded server handle; kept alive for the process


# --------------------------------------------------------------------------- databases


def bench_admin_url() -> str:
    """Return an admin URL: ``BENCH_DATABASE_URL``, else the embedded bench server's."""
    global _server
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    if _server is None:
        from db.embedded import start_embedded

        _server = start_embedded(EMBEDDED_DIR)
    return str(_server.get_uri("postgres"))


def with_dbname(url: str, name: str) -> str:
    """Return ``url`` pointing at database ``name``."""
    return str(psycopg.conninfo.make_conninfo(url, dbname=name))


def scratch_database(name: str, *, admin_url: str | None = None) -> str:
    """Drop and recreate database ``name``, migrate it with the SSIC reference; return its URL."""
    from db.migrate import migrate
    from db.reference import load_reference

    admin = admin_url or bench_admin_url()
    with psycopg.connect(admin, autocommit=True) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    url = with_dbname(admin, name)
    migrate(url, after=load_reference)
    return url


def server_version(url: str) -> str:
    """Return the server's ``version()`` string, shortened to name, version and platform."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT version()").fetchone()
    text = str(row[0]) if row else "unknown"
    return text.split(", compiled by")[0]


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Stats:
    """Timing statistics of one measured operation, in milliseconds."""

    n: int
    p50: float
    p95: float
    min: float
    max: float
    mean: float
    stdev: float

    @classmethod
    def of(cls, samples_ms: list[float]) -> Stats:
        """Summarise raw samples (ms)."""
        if not samples_ms:
            raise ValueError("no samples")
        s = sorted(samples_ms)
        return cls(
            n=len(s),
            p50=percentile(s, 50),
            p95=percentile(s, 95),
            min=s[0],
            max=s[-1],
            mean=statistics.fmean(s),
            stdev=statistics.stdev(s) if len(s) > 1 else 0.0,
        )

    @property
    def spread(self) -> float:
        """Return (max - min) / p50: how noisy the samples were (0.1 = 10 %)."""
        return (self.max - self.min) / self.p50 if self.p50 else math.inf

    def row(self, label: str, *, per_op: int | None = None) -> str:
        """Return a markdown table row; ``per_op`` items per run adds an items/s column."""
        cells = [label, str(self.n)] + [
            f"{v:,.1f}" for v in (self.p50, self.p95, self.min, self.max, self.stdev)
        ]
        cells.append(f"{self.spread * 100:.0f} %")
        if per_op is not None:
            cells.append(f"{per_op / (self.p50 / 1000):,.0f}")
        return "| " + " | ".join(cells) + " |"

    @staticmethod
    def header(*, per_op: str | None = None) -> str:
        """Return the markdown table header matching :meth:`row`."""
        cols = ["", "n", "p50 ms", "p95 ms", "min ms", "max ms", "stdev ms", "spread"]
        if per_op:
            cols.append(f"{per_op}/s at p50")
        return "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols)


def percentile(sorted_samples: list[float], pct: float) -> float:
    """Return the ``pct`` percentile of sorted samples (linear interpolation)."""
    if len(sorted_samples) == 1:
        return sorted_samples[0]
    k = (len(sorted_samples) - 1) * pct / 100
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_samples[lo] + (sorted_samples[hi] - sorted_samples[lo]) * (k - lo)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def measure(
    fn: Callable[[], object],
    repeats: int,
    warmup: int = 1,
    *,
    setup: Callable[[], object] | None = None,
) -> Stats:
    """Time ``fn()`` ``repeats`` times after ``warmup`` untimed calls; ``setup`` runs untimed."""
    samples: list[float] = []
    for i in range(warmup + repeats):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        if i >= warmup:
            samples.append(_ms(t0))
    return Stats.of(samples)


async def ameasure(
    fn: Callable[[], Awaitable[object]],
    repeats: int,
    warmup: int = 1,
    *,
    setup: Callable[[], Awaitable[object]] | None = None,
) -> Stats:
    """Async :func:`measure`: time ``await fn()``; ``setup`` is awaited untimed."""
    samples: list[float] = []
    for i in range(warmup + repeats):
        if setup is not None:
            await setup()
        t0 = time.perf_counter()
        await fn()
        if i >= warmup:
            samples.append(_ms(t0))
    return Stats.of(samples)


Case = tuple[Callable[[], object] | None, Callable[[], object]]  # (untimed setup, timed fn)


def measure_interleaved(
    cases: Mapping[str, Case], repeats: int, warmup: int = 1
) -> dict[str, Stats]:
    """Time several cases alternately (A B, B A, ...) so drift hits all sides alike."""
    names = list(cases)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for i in range(warmup + repeats):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            setup, fn = cases[name]
            if setup is not None:
                setup()
            t0 = time.perf_counter()
            fn()
            if i >= warmup:
                samples[name].append(_ms(t0))
    return {n: Stats.of(samples[n]) for n in names}


def ratio(a: Stats, b: Stats) -> float:
    """Return ``a.p50 / b.p50`` (for times: how many times slower ``a`` is than ``b``)."""
    return a.p50 / b.p50 if b.p50 else math.inf


def run_async(coro: Awaitable[Any]) -> Any:
    """Run a coroutine to completion from synchronous benchmark code."""

    async def _main() -> Any:
        return await coro

    return asyncio.run(_main())


# --------------------------------------------------------------------------- BENCHMARKS.md


def machine_facts(pg_version: str | None = None) -> str:
    """Return one markdown line of machine facts (cores, RAM, PostgreSQL, Python, date)."""
    ram = "unknown"
    try:
        meminfo = Path("/proc/meminfo").read_text()
        m = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
        if m:
            ram = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    parts = [
        f"nproc {os.cpu_count()}",
        f"RAM {ram}",
        f"load avg (1 min) at write {load:.2f}",
        f"PostgreSQL: {pg_version or 'n/a'}",
        f"Python {platform.python_version()} ({platform.machine()})",
        f"date {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
    ]
    return "; ".join(parts)


def rerun_command() -> str:
    """Return the command line that started this process, relative to the repo root."""
    argv = list(getattr(sys, "orig_argv", sys.argv))
    if argv and Path(argv[0]).resolve() == Path(sys.executable).resolve():
        try:
            argv[0] = str(Path(sys.executable).relative_to(ROOT))
        except ValueError:
            argv[0] = "python"
    return shlex.join(argv)


def write_section(
    title: str,
    markdown: str,
    *,
    command: str | None = None,
    pg_version: str | None = None,
    path: Path = BENCHMARKS_MD,
) -> None:
    """Rewrite the ``## title`` section of BENCHMARKS.md in place, keeping other sections."""
    body = (
        f"## {title}\n\n"
        f"Rerun: `{command or rerun_command()}` (from the repository root)\n\n"
        f"Machine: {machine_facts(pg_version)}\n\n"
        f"{markdown.strip()}\n"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / ".benchmarks-md.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # other benchmarks may write their sections now
        text = path.read_text(encoding="utf-8") if path.exists() else _HEADER
        path.write_text(replace_section(text, title, body), encoding="utf-8")


def replace_section(text: str, title: str, body: str) -> str:
    """Return ``text`` with its ``## title`` section replaced by ``body`` (appended if new)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.rstrip() == f"## {title}"), None)
    if start is None:
        return text.rstrip("\n") + "\n\n" + body
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rest = "".join(lines[end:])
    return "".join(lines[:start]) + body + ("\n" + rest if rest else "")


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class RunOptions:
    """Options ``bench.run`` passes to every benchmark (None: the benchmark's default)."""

    rows: int | None = None
    repeats: int | None = None


Benchmark = Callable[[RunOptions], None]
REGISTRY: list[tuple[str, Benchmark]] = []


def register(name: str) -> Callable[[Benchmark], Benchmark]:
    """Decorator: add a benchmark to :data:`REGISTRY` under ``name``."""

    def deco(fn: Benchmark) -> Benchmark:
        if any(n == name for n, _ in REGISTRY):
            raise ValueError(f"benchmark {name!r} registered twice")
        REGISTRY.append((name, fn))
        return fn

    return deco


def log(msg: str) -> None:
    """Print a progress line to stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- shared data


def generated_database(name: str, rows: int, *, seed: int = 42) -> str:
    """Return a migrated scratch database holding ``rows`` generated staging rows.

    Reused when it already holds exactly that many rows from the same seed (the data is
    deterministic), so several benchmarks in one ``make bench`` generate it once.
    """
    from bench.gen import load_staging

    admin = bench_admin_url()
    url = with_dbname(admin, name)
    marker = f"{rows}:{seed}"
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT checksum FROM reference_data WHERE name = 'bench'"
            ).fetchone()
            if row and row[0] == marker:
                return url
    except psycopg.Error:
        pass
    url = scratch_database(name, admin_url=admin)
    log(f"generating {rows:,} staging rows into {name}")
    load_staging(url, rows, seed=seed)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO reference_data (name, checksum, rows) VALUES ('bench', %s, %s)",
            (marker, rows),
        )
    return url


def bench_main(
    benchmark: Benchmark, prog: str, argv: list[str] | None, *, rows: int, repeats: int
) -> int:
    """Run one benchmark module from its own command line (``--rows``, ``--repeats``)."""
    import argparse

    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("--rows", type=int, default=rows)
    ap.add_argument("--repeats", type=int, default=repeats)
    args = ap.parse_args(argv)
    benchmark(RunOptions(rows=args.rows, repeats=args.repeats))
    return 0


_GOAL = re.compile(
    r"\*\*(?P<what>[^*]+?): (?P<value>[\d.,]+ ?(?:\u00d7|ms|answers))\*\* "
    r"\u2014 goal (?P<goal>[^:]+): "
    r"\*\*(?P<verdict>met|missed)\*\*"
)


def goal_summary(text: str) -> str:
    """Return a markdown table of every goal line (``**x: 1.2×** — goal ≤ 1.3×: **met**``)."""
    rows = ["| section | measured | goal | verdict |", "|---|---|---|---|"]
    section = ""
    for line in text.splitlines():
        if line.startswith("## ") and line[3:] != "Summary":
            section = line[3:]
        for m in _GOAL.finditer(line):
            verdict = "met" if m["verdict"] == "met" else "**missed**"
            rows.append(f"| {section} | {m['what']}: {m['value']} | {m['goal']} | {verdict} |")
    return "\n".join(rows)


def write_summary(path: Path = BENCHMARKS_MD) -> None:
    """Rewrite the Summary section of BENCHMARKS.md from the goal lines of the others."""
    text = path.read_text(encoding="utf-8")
    body = (
        "## Summary\n\nEvery goal with the ratio measured by its section below (same run, "
        "same machine). Rerun everything: `make bench`.\n\n" + goal_summary(text) + "\n"
    )
    if "## Summary" not in text:
        first = text.find("\n## ")
        text = text[: first + 1] + body + "\n" + text[first + 1 :] if first >= 0 else text + body
    else:
        text = replace_section(text, "Summary", body)
    path.write_text(text, encoding="utf-8")


def goal_line(
    what: str,
    value: float,
    *,
    at_most: float | None = None,
    at_least: float | None = None,
    unit: str = "\u00d7",
    digits: int = 2,
    also: bool = True,
) -> str:
    """Return ``**what: 1.23×** — goal ≤ 1.3×: **met**`` (the form :func:`goal_summary` reads).

    ``also`` is a further condition of the goal (e.g. zero errors) that must hold to meet it.
    """
    if (at_most is None) == (at_least is None):
        raise ValueError("give exactly one of at_most / at_least")
    target = at_most if at_most is not None else at_least
    assert target is not None
    met = also and (value <= target if at_most is not None else value >= target)
    sign = "\u2264" if at_most is not None else "\u2265"
    space = " " if unit != "\u00d7" else ""
    return (
        f"**{what}: {value:,.{digits}f}{space}{unit}** \u2014 goal {sign} {target:g}{space}{unit}: "
        f"**{'met' if met else 'missed'}**"
    )
