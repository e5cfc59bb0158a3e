"""The benchmarks' report writer: BENCHMARKS.md sections, tables, goal lines, the summary.

Each benchmark rewrites its own ``## title`` section in place (:func:`write_section`),
naming the command that produced it and the machine; :func:`write_summary` then rebuilds
the Summary table from every section's goal lines (``**what: 1.2×** — goal ≤ 1.3×:
**met**``, written by :func:`goal_line`).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import platform
import re
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from bench.harness import OUT, ROOT, Stats

BENCHMARKS_MD = ROOT / "BENCHMARKS.md"

_HEADER = """# Benchmarks

Measured by `make bench` (`python -m bench.run`); each section is rewritten in place by
its benchmark and names the exact command that produced it. Benchmarks are not tests:
both sides of every ratio are measured in the same run, interleaved and repeated, on a
shared machine, so read p50 together with p95 and the spread.
"""


def stats_table(rows: Mapping[str, Stats], *, per_op: tuple[str, int] | None = None) -> str:
    """Return a markdown table of timing stats (ms), one row per label.

    ``per_op=(unit, n)``: ``n`` units per timed run adds a ``unit/s at p50`` column.
    """
    cols = ["", "n", "p50 ms", "p95 ms", "min ms", "max ms", "stdev ms", "spread"]
    cols += [f"{per_op[0]}/s at p50"] if per_op else []
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for label, s in rows.items():
        cells = [label, str(s.n)] + [f"{v:,.1f}" for v in (s.p50, s.p95, s.min, s.max, s.stdev)]
        cells.append(f"{s.spread * 100:.0f} %")
        cells += [f"{per_op[1] / (s.p50 / 1000):,.0f}"] if per_op else []
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(header: list[str], rows: list[list[object]]) -> str:
    """Return a markdown table; floats are written with thousands separators."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}" if abs(v) < 10 else f"{v:,.1f}" if abs(v) < 1000 else f"{v:,.0f}"
        return f"{v:,}" if isinstance(v, int) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(cell, r)) + " |" for r in rows])


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


def machine_facts(pg_version: str | None = None) -> str:
    """Return one markdown line of machine facts (cores, RAM, load, PostgreSQL, Python, date)."""
    m = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    ram = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB" if m else "unknown"
    parts = [
        f"nproc {os.cpu_count()}",
        f"RAM {ram}",
        f"load avg (1 min) at write {os.getloadavg()[0]:.2f}",
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


def replace_section(text: str, title: str, body: str, *, level: str = "## ") -> str:
    """Return ``text`` with its ``## title`` section replaced by ``body`` (appended if new)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.rstrip() == f"{level}{title}"), None)
    if start is None:
        return text.rstrip("\n") + "\n\n" + body
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(level)), len(lines))
    rest = "".join(lines[end:])
    return "".join(lines[:start]) + body + ("\n" + rest if rest else "")


def update_doc(path: Path, title: str, body: str, header: str) -> None:
    """Rewrite the ``## title`` section of ``path`` (created with ``header``) under a lock."""
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / f".{path.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # other benchmarks may write their sections now
        text = path.read_text(encoding="utf-8") if path.exists() else header
        path.write_text(replace_section(text, title, body), encoding="utf-8")


def write_section(
    title: str, markdown: str, *, pg_version: str | None = None, path: Path = BENCHMARKS_MD
) -> None:
    """Rewrite the ``## title`` section of BENCHMARKS.md in place, keeping other sections."""
    body = (
        f"## {title}\n\n"
        f"Rerun: `{rerun_command()}` (from the repository root)\n\n"
        f"Machine: {machine_facts(pg_version)}\n\n"
        f"{markdown.strip()}\n"
    )
    update_doc(path, title, body, _HEADER)


def write_summary(path: Path = BENCHMARKS_MD) -> None:
    """Rewrite the Summary section of BENCHMARKS.md from the goal lines of the others."""
    if not path.exists():
        return
    text = path.read_text(encoding="utf-8")
    body = (
        "## Summary\n\nEvery goal with the figure its section below measured (each section "
        "names its command, date and load). Rerun everything: `make bench`.\n\n"
        + goal_summary(text) + "\n"
    )
    if "## Summary" not in text:
        first = text.find("\n## ")
        text = text[: first + 1] + body + "\n" + text[first + 1 :] if first >= 0 else text + body
    else:
        text = replace_section(text, "Summary", body)
    path.write_text(text, encoding="utf-8")
