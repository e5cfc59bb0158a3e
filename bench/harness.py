"""The benchmarks' shared harness: databases, data, servers, timing and statistics.

Benchmarks are not tests: each one measures both sides of a ratio in the same run,
interleaved and repeated, and reports p50/p95/spread (``bench.report`` writes the
tables). A benchmark module registers itself with :func:`benchmark`; ``python -m
bench.run`` imports every module of the package and runs what registered.

The server is ``BENCH_DATABASE_URL`` when set, else an embedded PostgreSQL in
``.data/bench-pg`` (separate from the product's ``.data/pg`` and the tests').
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
EMBEDDED_DIR = ROOT / ".data" / "bench-pg"
BENCH_CONFIG = str(ROOT / "bench" / "langgraph.bench.json")  # icp_search and the no-op graph
SEED = 42

PHRASES = (
    # narrow industries
    "bakery", "hairdressing", "travel agencies", "printing", "dental clinics",
    "interior design", "freight forwarding", "cleaning services", "car repair",
    "florists", "pest control",
    # broad industries
    "Manufacturing", "restaurants", "software development", "logistics", "construction",
    "real estate", "wholesale of food", "IT consultancy", "education", "advertising",
    "retail", "shipping",
    # typos
    "manufactoring", "resturants", "sofware development", "logistcs", "constrution",
    "bakry",
    # several industries in one message
    "bakery and cafes", "logistics or warehousing", "software and IT consultancy",
    "restaurants, catering and bakeries",
)  # fmt: skip
"""The chat and preview mix: ≥ 30 distinct phrases a sales team types."""

FOLLOW_UPS = (
    "more", "only live companies", "in Jurong", "next 10", "why #1?", "how is my job doing?",
    "incorporated after 2015", "why 80?", "any age", "at least 3 officers", "clear filters",
    "thanks",
)  # fmt: skip
"""What a salesperson asks after a search (each answered by a follow-up node)."""

_server: Any = None  # the embedded server handle; kept alive for the process


def log(msg: str) -> None:
    """Print a progress line to stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- databases


def admin_url() -> str:
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


def execute(url: str, *statements: str, params: Any = None) -> None:
    """Run statements on ``url`` in autocommit (``params`` bind each)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for stmt in statements:
            conn.execute(stmt, params)


def fetch_one(url: str, query: str, params: Any = None) -> tuple[Any, ...]:
    """Return the first row of ``query`` on ``url``."""
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return tuple(row)


def scratch_database(name: str) -> str:
    """Drop and recreate database ``name``, migrate it with the SSIC reference; return its URL."""
    from db.migrate import migrate
    from db.reference import load_reference

    admin = admin_url()
    ident = sql.Identifier(name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    url = with_dbname(admin, name)
    migrate(url, after=load_reference)
    return url


def server_version(url: str) -> str:
    """Return the server's ``version()`` string, shortened to name, version and platform."""
    return str(fetch_one(url, "SELECT version()")[0]).split(", compiled by")[0]


def generated_database(rows: int, *, seed: int = SEED) -> str:
    """Return a migrated database ``icp_bench_gen_<rows>`` of ``rows`` generated staging rows.

    Kept across runs: reused (pending migrations applied) when it holds the rows of the
    same seed, so a rerun or a second benchmark on the same size never regenerates.
    """
    from bench.gen import load_staging
    from db.migrate import migrate
    from db.reference import load_reference

    name = f"icp_bench_gen_{rows}" + ("" if seed == SEED else f"_s{seed}")
    url = with_dbname(admin_url(), name)
    marker = f"{rows}:{seed}"
    with contextlib.suppress(psycopg.Error, AssertionError):
        if fetch_one(url, "SELECT checksum FROM reference_data WHERE name = 'bench'")[0] == marker:
            migrate(url, after=load_reference)
            return url
    url = scratch_database(name)
    log(f"generating {rows:,} staging rows into {name}")
    t0 = time.perf_counter()
    load_staging(url, rows, seed=seed)
    execute(url, "INSERT INTO reference_data (name, checksum, rows) VALUES ('bench', %s, %s)",
            params=(marker, rows))  # fmt: skip
    log(f"generated {rows:,} rows in {time.perf_counter() - t0:.0f} s")
    return url


SETTLE_QUIET_S = 10.0
"""How long no autovacuum worker may run before a benchmark starts."""
SETTLE_MAX_S = 300.0


def settle() -> None:
    """Before a benchmark: do the bench databases' pending maintenance now and wait for the
    cluster's autovacuum to be idle, so a benchmark measures the product, not a vacuum of
    the previous one's writes.

    Each ``icp_bench%`` database gets ``VACUUM (ANALYZE)`` (what autovacuum would do within
    the next minute; incremental after the first), then the wait lasts until no autovacuum
    worker has run for ``SETTLE_QUIET_S`` (at most ``SETTLE_MAX_S``). Seen without it
    (2026-11-29): autovacuum of the previous run's writes started on the big databases 20 s
    after the bench's server and ran for about a minute, across acra-load. Settling did not
    explain that day's slower loads, though: the next run, settled, still measured 0.43x
    (README, "The latest unbroken make bench").
    """
    t0 = time.perf_counter()
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate"
            " AND datname LIKE 'icp\\_bench%' ORDER BY datname"
        )]  # fmt: skip
    for name in names:
        execute(with_dbname(admin_url(), name), "VACUUM (ANALYZE)")
    vacuumed = time.perf_counter() - t0
    quiet_since = time.perf_counter()
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        while time.perf_counter() - t0 < SETTLE_MAX_S:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
            ).fetchone()
            if busy and busy[0]:
                quiet_since = time.perf_counter()
            elif time.perf_counter() - quiet_since >= SETTLE_QUIET_S:
                break
            time.sleep(0.5)
    log(f"settled: VACUUM (ANALYZE) of {len(names)} databases {vacuumed:.0f} s, "
        f"then {time.perf_counter() - t0 - vacuumed:.0f} s until autovacuum was idle")  # fmt: skip


def database_copy(source_url: str, name: str) -> str:
    """Drop database ``name`` and recreate it as a file copy of ``source_url``'s; return it."""
    source = psycopg.conninfo.conninfo_to_dict(source_url)["dbname"]
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
            ident, sql.Identifier(str(source))))  # fmt: skip
    return with_dbname(admin_url(), name)


def sample_database(name: str) -> str:
    """Return a fresh scratch database holding the real ACRA sample (24,385 rows)."""
    from db.acra import load_file
    from icp.cli import sample_files

    url = scratch_database(name)
    with psycopg.connect(url, autocommit=True) as conn:
        for f in sample_files():
            load_file(conn, f)
        conn.execute("VACUUM ANALYZE")
    return url


def ensure_leads(url: str, tenant: str = "default") -> int:
    """Make every staging row a company scored for ``tenant`` (once); return the lead count.

    A bulk ``INSERT … SELECT``, not the product's upsert (the registry's size, not the
    scoring, is what the leads benchmarks need): one saved search per SSIC section, each
    company scored in its section's (scores 0–100 from a hash of the UEN: ties everywhere).
    """
    staging, have, ours = fetch_one(
        url, "SELECT (SELECT count(*) FROM staging_acra_companies),"
        " (SELECT count(*) FROM lead_scores WHERE tenant_id = %(t)s), EXISTS (SELECT FROM"
        " icp_searches WHERE tenant_id = %(t)s AND codes_key = 'bench-other')", {"t": tenant},
    )  # fmt: skip
    if have >= staging and ours:
        return int(have)
    log(f"building {staging:,} companies and scored leads")
    execute(
        url,
        "TRUNCATE companies, lead_scores, icp_searches CASCADE",
        "INSERT INTO companies (uen, name, industry_code, industry_norm, incorporation_date,"
        " incorporation_year, entity_status, is_live, entity_type, company_type, officers,"
        " postal_code, enriched_by, enriched_at) SELECT s.uen, s.entity_name,"
        " s.primary_ssic_code, coalesce(r.title, initcap(s.primary_ssic_description)),"
        " s.registration_incorporation_date,"
        " extract(year FROM s.registration_incorporation_date)::int,"
        " s.entity_status_description, s.is_live, s.entity_type_description,"
        " s.company_type_description, s.no_of_officers, s.postal_code, 'registry', now()"
        " FROM staging_acra_companies s LEFT JOIN ssic_ref r ON r.code = s.primary_ssic_code"
        " ORDER BY s.uen",
    )
    execute(
        url,
        "INSERT INTO icp_searches (tenant_id, terms, codes, codes_key) SELECT %(t)s,"
        " ARRAY[min(title) FILTER (WHERE level = 'section')], array_agg(code ORDER BY code)"
        " FILTER (WHERE level = 'subclass'), 'bench-' || section FROM ssic_ref GROUP BY section"
        " UNION ALL SELECT %(t)s, '{other}', '{}', 'bench-other'",
        # industry_code given, as the product's upsert does: the per-row fill trigger would
        # otherwise look each company up with a plan made before companies was analysed.
        "ANALYZE companies",
        "INSERT INTO lead_scores (tenant_id, search_id, company_id, score, bucket, is_live,"
        " rationale, industry_code) SELECT %(t)s, coalesce(x.search_id, o.search_id),"
        " c.company_id, s, icp_lead_bucket(s), coalesce(c.is_live, false), 'bench',"
        " c.industry_code FROM companies c"
        " CROSS JOIN LATERAL (SELECT (abs(hashtext(c.uen)) %% 101)::smallint AS s) h"
        " LEFT JOIN ssic_ref r ON r.code = c.industry_code"
        " LEFT JOIN icp_searches x ON x.tenant_id = %(t)s AND x.codes_key = 'bench-' || r.section"
        " JOIN icp_searches o ON o.tenant_id = %(t)s AND o.codes_key = 'bench-other'",
        params={"t": tenant},
    )
    execute(url, "VACUUM ANALYZE companies", "VACUUM ANALYZE lead_scores")
    return int(fetch_one(url, "SELECT count(*) FROM lead_scores WHERE tenant_id = %s",
                         (tenant,))[0])  # fmt: skip


async def use_database(url: str) -> None:
    """Point the product's pool and settings (in this process) at ``url``."""
    from config.settings import reset_settings
    from db.pool import close_pool, get_pool

    await close_pool()
    os.environ["DATABASE_URL"] = url
    reset_settings()
    await get_pool()


# --------------------------------------------------------------------------- servers


def port_in_range() -> int:
    """Return the first port of ``BENCH_PORTS`` (``lo-hi``) nothing listens on."""
    lo, hi = (int(p) for p in os.environ["BENCH_PORTS"].split("-"))
    for port in range(lo, hi + 1):
        with socket.socket() as s, contextlib.suppress(OSError):
            s.bind(("127.0.0.1", port))
            return port
    raise RuntimeError(f"no free port in BENCH_PORTS={lo}-{hi}")


@contextlib.contextmanager
def dev_server(
    url: str,
    env: Mapping[str, str] | None = None,
    *,
    config: str | None = None,
    jobs: int | None = None,
) -> Iterator[Any]:
    """Run ``langgraph dev`` on database ``url`` for the block; yield its handle.

    ``jobs`` (``--n-jobs-per-worker``) defaults to the product's own (``icp dev --jobs``).

    ``BENCH_PORTS=2220-2229`` keeps the servers' ports in that range (else any free port).
    """
    from icp import devserver

    if os.environ.get("BENCH_PORTS"):
        devserver.free_port = port_in_range
    srv = devserver.start_server(
        url, dict(env or {}), jobs=jobs or devserver.DEFAULT_JOBS, config=config or "langgraph.json"
    )
    try:
        yield srv
    finally:
        srv.stop()


def message(text: str) -> Any:
    """Return a graph input of one human message, as agent-chat-ui sends it (content blocks)."""
    return {"messages": [{"type": "human", "content": [{"type": "text", "text": text}]}]}


@dataclass(frozen=True)
class RunTimes:
    """One run through the server, split by the graph's own task timestamps (server clock)."""

    total: float  # request sent -> last event read, ms
    first_event: float  # request sent -> the first task event read (time to first byte)
    queue: float  # request sent -> the first node started (the runtime's run-queue wait)
    graph: float  # first node started -> last node finished (the product's own time)
    nodes: dict[str, float]  # node -> its own time, ms
    ok: bool  # the run reached its respond node without an error


async def streamed_run(
    client: Any, graph_id: str, text: str, config: dict[str, Any] | None = None
) -> RunTimes:
    """Run ``graph_id`` statelessly with ``stream_mode="debug"``; split its time.

    The debug events carry the server's timestamps of each task's start (``task``) and end
    (``task_result``): without patching the runtime, they separate the queue wait from the
    graph's own time, per node. Server and client share the machine's clock.
    """
    sent, t0 = time.time(), time.perf_counter()
    starts: dict[str, float] = {}
    nodes: dict[str, float] = {}
    first = last_end = math.nan
    ok, first_event = False, math.nan
    try:
        async for part in client.runs.stream(
            None, graph_id, input=message(text), config=config, stream_mode="debug"
        ):
            if part.event == "error":
                break
            data = part.data if isinstance(part.data, dict) else {}
            kind, payload = data.get("type"), data.get("payload") or {}
            if kind not in ("task", "task_result"):
                continue
            if math.isnan(first_event):
                first_event = ms_since(t0)
            at = dt.datetime.fromisoformat(data["timestamp"]).timestamp()
            if kind == "task":
                starts[payload["id"]] = at
                first = at if math.isnan(first) else min(first, at)
            else:
                nodes[payload["name"]] = (at - starts.get(payload["id"], at)) * 1000
                last_end = at
                ok = ok or (payload["name"] == "respond" and not payload.get("error"))
    except Exception as exc:  # noqa: BLE001 - any failure is an error in the table
        log(f"run of {graph_id} failed: {exc!r}")
        ok = False
    return RunTimes(
        total=ms_since(t0), first_event=first_event, queue=(first - sent) * 1000,
        graph=(last_end - first) * 1000, nodes=nodes, ok=ok,
    )  # fmt: skip


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Stats:
    """Timing statistics of one measured operation, in milliseconds (or any unit)."""

    n: int
    p50: float
    p95: float
    min: float
    max: float
    mean: float
    stdev: float

    @classmethod
    def of(cls, samples: list[float]) -> Stats:
        """Summarise raw samples."""
        if not samples:
            raise ValueError("no samples")
        s = sorted(samples)
        return cls(
            n=len(s), p50=percentile(s, 50), p95=percentile(s, 95), min=s[0], max=s[-1],
            mean=statistics.fmean(s), stdev=statistics.stdev(s) if len(s) > 1 else 0.0,
        )  # fmt: skip

    @property
    def spread(self) -> float:
        """Return (max - min) / p50: how noisy the samples were (0.1 = 10 %)."""
        return (self.max - self.min) / self.p50 if self.p50 else math.inf


def percentile(sorted_samples: list[float], pct: float) -> float:
    """Return the ``pct`` percentile of sorted samples (linear interpolation)."""
    k = (len(sorted_samples) - 1) * pct / 100
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_samples[lo] + (sorted_samples[hi] - sorted_samples[lo]) * (k - lo)


def ratio(a: Stats, b: Stats) -> float:
    """Return ``a.p50 / b.p50`` (for times: how many times slower ``a`` is than ``b``)."""
    return a.p50 / b.p50 if b.p50 else math.inf


def ms_since(t0: float) -> float:
    """Return milliseconds since ``t0`` (a ``time.perf_counter()``)."""
    return (time.perf_counter() - t0) * 1000


def timed(fn: Callable[[], object]) -> float:
    """Return how long ``fn()`` took, in ms."""
    t0 = time.perf_counter()
    fn()
    return ms_since(t0)


Case = Callable[[int], object]  # called with the round number; its time is the sample


def interleave(cases: Mapping[str, Case], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Time every case once per round, alternating the order (A B, B A, …) so drift on a
    shared machine hits every side alike; return the samples (ms) per case."""
    names = list(cases)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for i in range(warmup + repeats):
        for name in names if i % 2 == 0 else names[::-1]:
            ms = timed(lambda name=name, i=i: cases[name](i))  # type: ignore[misc]
            if i >= warmup:
                samples[name].append(ms)
    return samples


ACase = Callable[[int], Awaitable[object]]


async def ainterleave(
    cases: Mapping[str, ACase], repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Async :func:`interleave`: time ``await case(i)``."""
    names = list(cases)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for i in range(warmup + repeats):
        for name in names if i % 2 == 0 else names[::-1]:
            t0 = time.perf_counter()
            await cases[name](i)
            if i >= warmup:
                samples[name].append(ms_since(t0))
    return samples


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class RunOptions:
    """Options ``bench.run`` passes to every benchmark (None: the benchmark's default)."""

    rows: int | None = None
    repeats: int | None = None


@dataclass(frozen=True)
class Benchmark:
    """A registered benchmark: ``fn(rows, repeats)`` with its default sizes."""

    name: str
    fn: Callable[[int, int], object]
    rows: int
    repeats: int

    def __call__(self, opts: RunOptions) -> None:
        """Run with ``opts``, falling back to the defaults."""
        self.fn(opts.rows or self.rows, opts.repeats or self.repeats)


REGISTRY: dict[str, Benchmark] = {}


def benchmark(
    name: str, *, rows: int = 1_000_000, repeats: int = 3
) -> Callable[[Callable[[int, int], object]], Benchmark]:
    """Decorator: register ``fn(rows, repeats)`` as benchmark ``name`` (``--only name``)."""

    def deco(fn: Callable[[int, int], object]) -> Benchmark:
        if name in REGISTRY:
            raise ValueError(f"benchmark {name!r} registered twice")
        REGISTRY[name] = Benchmark(name, fn, rows, repeats)
        return REGISTRY[name]

    return deco


def cli(bench: Benchmark, argv: list[str] | None = None) -> None:
    """Run one benchmark from its module's command line (``--rows``, ``--repeats``), then exit."""
    from bench.report import write_summary

    ap = argparse.ArgumentParser(prog=f"python -m bench.{bench.fn.__module__.split('.')[-1]}")
    ap.add_argument("--rows", type=int, default=bench.rows)
    ap.add_argument("--repeats", type=int, default=bench.repeats)
    args = ap.parse_args(argv)
    settle()
    bench(RunOptions(rows=args.rows, repeats=args.repeats))
    write_summary()
    raise SystemExit(0)
