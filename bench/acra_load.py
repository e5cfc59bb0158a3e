"""ACRA load benchmark: the product's loader against a bare COPY of the same file.

One ACRA-format CSV of ``--rows`` generated rows (``bench.gen``, seed 42) is written to
``bench/out/`` (reused while the generator is unchanged). Each round times, in an order
that alternates between rounds (paired and interleaved, so drift on a shared machine hits
every side alike):

* **bare**: ``COPY ... (FORMAT csv, HEADER true)`` into an unindexed all-text table with
  the 53 columns, one stream: the floor any loader pays;
* **empty**: ``db.acra.load_file`` into the empty, migrated staging (``ICP_LOAD_WORKERS``
  streams, then CHECKs, indexes, counts, ANALYZE and the swap);
* **populated**: ``db.acra.load_file`` of the same file into the staging the previous
  load filled (the merge path; every row unchanged).

Tables are truncated (and staging refilled for **populated**) and a CHECKPOINT is taken
before every run, untimed.

``python -m bench.acra_load [--rows 1000000] [--repeats 3]``
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

import db.acra as acra
from bench import gen
from bench.harness import OUT, Stats, benchmark, cli, log, scratch_database, server_version
from bench.report import goal_line, stats_table, write_section
from config.settings import get_settings

TITLE = "ACRA load"
DB_NAME = "icp_bench_acra"
BARE = "bench_bare_acra"
GOALS = {"empty": 0.5, "populated": 0.35}  # loader rows/s over the bare COPY's, at least


def csv_path(rows: int, seed: int) -> Path:
    """Return the benchmark CSV's path, keyed by rows, seed and the generator's source."""
    digest = hashlib.sha256(Path(gen.__file__).read_bytes()).hexdigest()[:8]
    return OUT / f"acra_{rows}_seed{seed}_{digest}.csv"


def ensure_csv(rows: int, seed: int = 42) -> Path:
    """Generate the CSV unless an identical one exists; return its path."""
    path = csv_path(rows, seed)
    if not path.exists():
        for stale in OUT.glob("acra_*_seed*_*.csv"):
            stale.unlink()
        log(f"generating {rows:,} rows into {path.name}")
        gen.write_csv(path, rows, seed=seed)
    return path


def _prepare(url: str, *tables: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables))))
        conn.execute("CHECKPOINT")


def cases(
    url: str, path: Path, rows: int
) -> dict[str, tuple[Callable[[], None], Callable[[], None]]]:
    """Return each case as (untimed setup, timed run)."""

    def bare() -> None:
        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
            copy = sql.SQL("COPY {} FROM STDIN (FORMAT csv, HEADER true)").format(
                sql.Identifier(BARE)
            )
            with cur.copy(copy) as cp, path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    cp.write(chunk)
            assert cur.rowcount == rows, cur.rowcount

    def load(expect: str) -> Callable[[], None]:
        def run() -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                res = acra.load_file(conn, path)
            got = res.inserted if expect == "inserted" else res.unchanged
            assert got == rows, res

        return run

    def refill() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM staging_acra_companies").fetchone()
            if not row or row[0] != rows:
                conn.execute("TRUNCATE staging_acra_companies, staging_ssic_counts")
                acra.load_file(conn, path)
            conn.execute("CHECKPOINT")

    return {
        "bare": (lambda: _prepare(url, BARE), bare),
        "empty": (
            lambda: _prepare(url, "staging_acra_companies", "staging_ssic_counts"),
            load("inserted"),
        ),
        "populated": (refill, load("unchanged")),
    }


@benchmark("acra-load")
def run(rows: int, repeats: int) -> str:
    """Run the benchmark, write its BENCHMARKS.md section and return the markdown."""
    path = ensure_csv(rows)
    url = scratch_database(DB_NAME)
    cols = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in acra.COLUMNS)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(BARE), cols))
    todo = cases(url, path, rows)
    samples: dict[str, list[float]] = {name: [] for name in todo}
    for i in range(repeats):
        for name in list(todo) if i % 2 == 0 else list(todo)[::-1]:
            setup, run = todo[name]
            setup()
            t0 = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - t0) * 1000)
            log(f"round {i + 1}: {name} {samples[name][-1] / 1000:.1f} s")
    md = report(rows, path, samples, workers=get_settings().load_workers)
    write_section(TITLE, md, pg_version=server_version(url))
    print(md)
    return md


def report(rows: int, path: Path, samples: dict[str, list[float]], *, workers: int) -> str:
    """Return the markdown of the ACRA-load section."""
    stats = {name: Stats.of(s) for name, s in samples.items()}
    bare = stats["bare"]
    labels = {
        "bare": "bare `COPY` into an unindexed all-text table (1 stream)",
        "empty": f"loader, empty staging ({workers} workers: swap)",
        "populated": f"loader, same file into populated staging ({workers} workers: merge)",
    }
    lines = [
        f"Data: one ACRA-format CSV of {rows:,} rows ({path.stat().st_size / 2**20:,.0f} MiB) from"
        f" `bench.gen` (seed 42). {len(samples['bare'])} rounds, each timing all three cases in"
        " an order that alternates between rounds; the machine is shared with other work, so"
        " read the per-round (paired) ratios too.",
        "",
        stats_table({labels[n]: stats[n] for n in labels}, per_op=("rows", rows)),
        "",
    ]
    for name, goal in GOALS.items():
        paired = [b / x for b, x in zip(samples["bare"], samples[name], strict=True)]
        lines.append(
            goal_line(
                f"Ratio loader ({name} staging) / bare COPY (rows/s at p50)",
                bare.p50 / stats[name].p50,
                at_least=goal,
            )
            + f"; paired per round: median {statistics.median(paired):.2f}×,"
            f" {min(paired):.2f}–{max(paired):.2f}×."
        )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    cli(run)
