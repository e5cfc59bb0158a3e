"""ACRA load benchmark: the product's loader against a bare COPY of the same file.

One ACRA-format CSV of ``--rows`` generated rows (``bench.gen``, seed 42) is written to
``bench/out/`` (reused while the generator is unchanged), then, alternating and repeated
in the same run:

* **loader**: ``db.acra.load_file`` into the empty, migrated ``staging_acra_companies``
  (COPY into a temp table; the empty-table path: strict converting insert with the
  indexes dropped, index rebuild; counts refresh, ANALYZE);
* **reload**: ``db.acra.load_file`` of the same file into the populated staging (the
  incremental path readers are never blocked by: ``INSERT ... ON CONFLICT``, every row
  unchanged, no ANALYZE);
* **bare**: ``COPY ... FROM STDIN (FORMAT csv, HEADER true)`` of the same file into an
  unindexed all-text table with the same 53 columns: the floor any loader pays;
* **indexed** (reference): the same bare COPY into an all-text table carrying staging's
  three indexes, to separate what the target table costs from what the loader adds.

Staging, the counts and the bare table are truncated and a CHECKPOINT is taken before
every run (untimed). The loader's phases are timed from the statements it executes,
through a connection subclass; ``load_file`` itself runs unmodified.

``python -m bench.acra_load [--rows 1000000] [--repeats 3] [--seed 42]``
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

import db.acra as acra
from bench import gen
from bench.common import (
    OUT,
    RunOptions,
    Stats,
    goal_line,
    log,
    measure_interleaved,
    register,
    scratch_database,
    server_version,
    write_section,
)

TITLE = "ACRA load"
DEFAULT_ROWS = 1_000_000
DEFAULT_REPEATS = 3
DB_NAME = "icp_bench_acra"
BARE_TABLE = "bench_bare_acra"
INDEXED_TABLE = "bench_bare_acra_indexed"  # reference: the bare table with staging's indexes
GOAL = 0.5  # loader rows/s at least half the bare COPY's
SETTINGS = (
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "temp_buffers",
    "max_wal_size",
    "synchronous_commit",
    "wal_level",
)


class TimedConnection(psycopg.Connection[Any]):
    """A connection that records ``(label, start, end)`` of every ``execute`` call."""

    events: list[tuple[str, float, float]]

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        """Run the statement and record how long it took under a phase label."""
        t0 = time.perf_counter()
        cur = super().execute(query, params, **kwargs)
        self.events.append((_label(query), t0, time.perf_counter()))
        return cur


_STMT_LABELS = {
    "create": "create temp table",
    "first_bad": "validate",
    "insert": "insert",
    "insert_dedup": "insert",
    "merge": "merge",
    "merge_dedup": "merge",
}


def _label(query: Any) -> str:
    for key, label in _STMT_LABELS.items():
        if query is acra._STMTS.get(key):  # the loader's own prepared statements
            return label
    text = query.decode() if isinstance(query, bytes) else query
    text = text if isinstance(text, str) else repr(text)
    if text == acra.REFRESH_COUNTS:
        return "counts refresh"
    if text == acra.IS_EMPTY:
        return "empty check"
    if text.startswith("LOCK TABLE"):
        return "lock"
    if "ADD CONSTRAINT" in text or text.startswith("CREATE INDEX"):
        return "index build"
    if text.startswith("ANALYZE"):
        return "ANALYZE"
    return text.strip()[:40]


# Phases derived from the recorded statements: (name, start event/edge, end event/edge).
# "first" edges are the first statement with that label, "last" the last one. A load
# into an empty staging table inserts and rebuilds the indexes; into a populated one it
# merges with INSERT ... ON CONFLICT (then the insert and index phases are absent).
PHASES = (
    ("header check, settings", ("start", None), ("create temp table", "start")),
    ("COPY into temp table", ("create temp table", "end"), ("empty check", "start")),
    ("empty check, lock, drop indexes", ("empty check", "start"), ("insert", "start")),
    ("insert (strict conversion, no indexes)", ("insert", "start"), ("insert", "end")),
    ("rebuild PK + 2 indexes", ("index build", "start"), ("index build", "last")),
    ("merge (INSERT ... ON CONFLICT, strict conversion)", ("merge", "start"), ("merge", "end")),
    ("counts refresh", ("counts refresh", "start"), ("counts refresh", "end")),
    ("commit", ("counts refresh", "end"), ("ANALYZE", "start")),
    ("ANALYZE", ("ANALYZE", "start"), ("ANALYZE", "end")),
)


def phase_times(events: list[tuple[str, float, float]], t0: float) -> dict[str, float]:
    """Turn recorded statements of one ``load_file`` call into phase durations (ms)."""
    at: dict[tuple[str, str | None], float] = {("start", None): t0}
    for label, start, end in events:
        at.setdefault((label, "start"), start)
        at.setdefault((label, "end"), end)
        at[(label, "last")] = end
    out: dict[str, float] = {}
    for name, a, b in PHASES:
        if a in at and b in at:
            out[name] = (at[b] - at[a]) * 1000
    return out


def csv_path(rows: int, seed: int) -> Path:
    """Return the benchmark CSV's path, keyed by rows, seed and the generator's source."""
    digest = hashlib.sha256(Path(gen.__file__).read_bytes()).hexdigest()[:8]
    return OUT / f"acra_{rows}_seed{seed}_{digest}.csv"


def ensure_csv(rows: int, seed: int) -> tuple[Path, float | None]:
    """Generate the CSV unless an identical one exists; return it and the seconds spent."""
    path = csv_path(rows, seed)
    if path.exists():
        return path, None
    for stale in OUT.glob("acra_*_seed*_*.csv"):
        if not stale.name.endswith(path.name[-13:]):  # written by an older generator
            stale.unlink()
    log(f"generating {rows:,} rows into {path.name}")
    t0 = time.perf_counter()
    gen.write_csv(path, rows, seed=seed)
    return path, time.perf_counter() - t0


def _settings(url: str) -> str:
    with psycopg.connect(url) as conn:
        vals = [
            f"{name}={conn.execute(sql.SQL('SHOW {}').format(sql.Identifier(name))).fetchone()[0]}"  # type: ignore[index]
            for name in SETTINGS
        ]
    return ", ".join(vals)


def _maintenance(url: str, tables: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables}")
        try:
            conn.execute("CHECKPOINT")  # start every run with no dirty buffers to flush
        except psycopg.errors.InsufficientPrivilege:
            pass


def create_reference_tables(url: str) -> None:
    """Create the bare all-text table and its copy indexed like staging (PK + 2 SSIC)."""
    cols = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in acra.COLUMNS)
    bare, indexed = sql.Identifier(BARE_TABLE), sql.Identifier(INDEXED_TABLE)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(bare, cols))
        conn.execute(sql.SQL("CREATE TABLE {} ({}, PRIMARY KEY (uen))").format(indexed, cols))
        conn.execute(sql.SQL("CREATE INDEX ON {} (primary_ssic_code, uen)").format(indexed))
        conn.execute(
            sql.SQL(
                "CREATE INDEX ON {} (primary_ssic_code, uen)"
                " WHERE entity_status_description ILIKE 'live%'"
            ).format(indexed)
        )


def bare_case(
    url: str, table: str, path: Path, rows: int, conns: dict[str, Any]
) -> tuple[Callable[[], None], Callable[[], None]]:
    """Return (setup, run) of a bare ``COPY ... (FORMAT csv, HEADER true)`` into ``table``."""
    copy = sql.SQL("COPY {} FROM STDIN (FORMAT csv, HEADER true)").format(sql.Identifier(table))

    def setup() -> None:
        _maintenance(url, table)
        conns[table] = psycopg.connect(url, autocommit=True)

    def run() -> None:
        t0 = time.perf_counter()
        with conns.pop(table) as conn, conn.cursor() as cur:
            with cur.copy(copy) as cp, path.open("rb") as fh:
                while chunk := fh.read(acra.CHUNK):
                    cp.write(chunk)
            copied = cur.rowcount
        if copied != rows:
            raise RuntimeError(f"COPY into {table} loaded {copied:,} rows, expected {rows:,}")
        log(f"  {table}: {(time.perf_counter() - t0):.1f} s")

    return setup, run


def benchmark(rows: int, repeats: int, *, seed: int = 42, warmup: int = 0) -> str:
    """Run the benchmark, write its BENCHMARKS.md section and return the markdown."""
    path, gen_s = ensure_csv(rows, seed)
    size_mib = path.stat().st_size / 2**20
    log(f"CSV {path.name}: {size_mib:,.0f} MiB; preparing database {DB_NAME}")
    url = scratch_database(DB_NAME)
    create_reference_tables(url)
    pg = server_version(url)
    settings = _settings(url)

    phases: list[dict[str, float]] = []
    reload_phases: list[dict[str, float]] = []
    conns: dict[str, Any] = {}

    def setup_loader() -> None:
        _maintenance(url, "staging_acra_companies, staging_ssic_counts")
        conn = TimedConnection.connect(url, autocommit=True)
        conn.events = []
        conns["loader"] = conn

    def run_loader() -> None:
        conn = conns.pop("loader")
        with conn:
            t0 = time.perf_counter()
            result = acra.load_file(conn, path)
            phases.append(phase_times(conn.events, t0))
        if result.inserted != rows:
            raise RuntimeError(f"loader inserted {result.inserted:,} rows, expected {rows:,}")
        log(f"  loader: {(time.perf_counter() - t0):.1f} s")

    def setup_reload() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM staging_acra_companies").fetchone()
            if not row or row[0] != rows:  # untimed: a first load to reload over
                _maintenance(url, "staging_acra_companies, staging_ssic_counts")
                acra.load_file(conn, path)
        conn = TimedConnection.connect(url, autocommit=True)
        conn.events = []
        conns["reload"] = conn

    def run_reload() -> None:
        conn = conns.pop("reload")
        with conn:
            t0 = time.perf_counter()
            result = acra.load_file(conn, path)
            reload_phases.append(phase_times(conn.events, t0))
        if result.unchanged != rows:
            raise RuntimeError(f"reload left {result.unchanged:,} rows unchanged, not {rows:,}")
        log(f"  reload: {(time.perf_counter() - t0):.1f} s")

    cases = {
        "loader": (setup_loader, run_loader),
        "reload": (setup_reload, run_reload),
        "bare": bare_case(url, BARE_TABLE, path, rows, conns),
        "indexed": bare_case(url, INDEXED_TABLE, path, rows, conns),
    }
    log(f"measuring {repeats} interleaved repeats (+{warmup} warm-up) of {', '.join(cases)}")
    stats = measure_interleaved(cases, repeats, warmup)
    phases, reload_phases = phases[warmup:], reload_phases[warmup:]
    md = report(rows, seed, size_mib, gen_s, stats, phases, settings, reload_phases)
    write_section(TITLE, md, pg_version=pg)
    print(md)
    return md


def report(
    rows: int,
    seed: int,
    size_mib: float,
    gen_s: float | None,
    stats: dict[str, Stats],
    phases: list[dict[str, float]],
    settings: str,
    reload_phases: list[dict[str, float]] | None = None,
) -> str:
    """Return the markdown of the ACRA-load section."""
    loader, bare, indexed = stats["loader"], stats["bare"], stats["indexed"]
    reload = stats.get("reload")
    r = bare.p50 / loader.p50  # loader rows/s divided by bare rows/s
    worst, best = bare.min / loader.max, bare.max / loader.min
    server = "`BENCH_DATABASE_URL`" if os.environ.get("BENCH_DATABASE_URL") else "embedded"
    generated = f"generated in {gen_s:.1f} s" if gen_s is not None else "reused from bench/out/"
    lines = [
        f"Data: one ACRA-format CSV of {rows:,} rows ({size_mib:,.0f} MiB) from `bench.gen` "
        f"(seed {seed}), {generated}. Server: {server}; {settings}.",
        "",
        Stats.header(per_op="rows"),
        loader.row("loader (`db.acra.load_file`, empty staging)", per_op=rows),
        bare.row("bare `COPY` into an unindexed all-text table", per_op=rows),
        indexed.row("reference: bare `COPY`, table indexed like staging", per_op=rows),
        *(
            [reload.row("loader, same file again into populated staging", per_op=rows)]
            if reload
            else []
        ),
        "",
        goal_line("Ratio loader/bare (rows/s at p50)", r, at_least=GOAL)
        + f". Across repeats the ratio lies between {worst:.2f}× (slowest loader vs fastest"
        f" bare) and {best:.2f}×.",
        "",
        f"Reference (same run): a bare COPY into the same all-text table carrying staging's"
        f" three indexes (PK on uen, (primary_ssic_code, uen), the partial live index) runs at"
        f" {bare.p50 / indexed.p50:.2f}× the unindexed COPY; the loader runs at"
        f" {indexed.p50 / loader.p50:.2f}× that indexed COPY.",
    ]
    for title, runs, total in (
        ("Loader phases, empty staging", phases, loader.p50),
        ("Reload phases, populated staging", reload_phases or [], reload.p50 if reload else 0.0),
    ):
        if not runs:
            continue
        names = [n for n, _, _ in PHASES if all(n in p for p in runs)]
        p50 = {n: statistics.median(p[n] for p in runs) for n in names}
        lines += [
            "",
            f"{title} (p50 over the repeats, from the statements `load_file` executes):",
            "",
            "| phase | p50 ms | share of its p50 |",
            "|---|---|---|",
            *(f"| {n} | {p50[n]:,.0f} | {p50[n] / total * 100:.0f} % |" for n in names),
        ]
    if phases:
        names = [n for n, _, _ in PHASES if all(n in p for p in phases)]
        p50 = {n: statistics.median(p[n] for p in phases) for n in names}
        total = loader.p50
        top = sorted(names, key=lambda n: -p50[n])[:2]
        floor = sum(p50.get(n, 0.0) for n in ("COPY into temp table",))
        lines += [
            "",
            f"Dominant phases: {top[0]} ({p50[top[0]] / total * 100:.0f} %)"
            + (f", then {top[1]} ({p50[top[1]] / total * 100:.0f} %)." if len(top) > 1 else ".")
            + " The validation pass, the UEN sort and the per-row flags are gone from the"
            " happy path (the strict conversion raises inside the insert; the detailed"
            " validation runs only after a rejected value), and into an empty table the"
            " indexes are rebuilt by sorting instead of a million random index insertions."
            " What still separates the loader from a bare COPY: every row is written twice"
            f" (COPY into the temp table alone takes {floor / bare.p50 * 100:.0f} % of the"
            " bare COPY's time, then a row-at-a-time `INSERT ... SELECT` converts and writes"
            " it again, WAL-logged), plus three index builds and ANALYZE. Conversion in the"
            " COPY itself is not possible (padding, strict ISO dates), and both cores are"
            " busy: temp tables keep the insert single-process.",
        ]
    return "\n".join(lines)


@register("acra-load")
def run(opts: RunOptions) -> None:
    """Registered entry: the ACRA-load benchmark with ``bench.run``'s options."""
    benchmark(opts.rows or DEFAULT_ROWS, opts.repeats or DEFAULT_REPEATS)


def main(argv: list[str] | None = None) -> int:
    """Command line of the ACRA-load benchmark."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.acra_load", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    ap.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--warmup", type=int, default=0, help="untimed runs of each side first")
    args = ap.parse_args(argv)
    benchmark(args.rows, args.repeats, seed=args.seed, warmup=args.warmup)
    return 0


if __name__ == "__main__":
    sys.exit(main())
