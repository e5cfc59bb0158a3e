"""Run the registered benchmarks (what ``make bench`` calls).

Every module of the ``bench`` package is imported; each benchmark module registers with
``bench.harness.benchmark``, so a new benchmark is one new module and no edit here.

``python -m bench.run [--only NAME ...] [--rows N] [--repeats N] [--list]``
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import bench
from bench.harness import REGISTRY, RunOptions, log, settle
from bench.report import write_summary


def discover() -> list[str]:
    """Import every module of the package; return the registered benchmark names in order."""
    for mod in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if mod.name != "run" and not mod.name.startswith("_"):
            importlib.import_module(f"bench.{mod.name}")
    return list(REGISTRY)


def main(argv: list[str] | None = None) -> int:
    """Run all registered benchmarks, or those named with ``--only``."""
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    ap.add_argument("--only", action="append", metavar="NAME", help="run only NAME (repeatable)")
    ap.add_argument("--rows", type=int, help="data size for every benchmark (default: its own)")
    ap.add_argument("--repeats", type=int, help="timed repeats (default: each benchmark's own)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = ap.parse_args(argv)
    names = discover()
    if args.list:
        print("\n".join(names))
        return 0
    unknown = sorted(set(args.only or ()) - set(names))
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(names)}")
    opts = RunOptions(rows=args.rows, repeats=args.repeats)
    for name in args.only or names:
        settle()  # the previous benchmark's writes vacuumed before this one is timed
        log(f"== {name}")
        t0 = time.perf_counter()
        REGISTRY[name](opts)
        log(f"== {name} done in {time.perf_counter() - t0:.0f} s")
    write_summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
