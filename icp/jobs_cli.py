"""``icp jobs ...``: drain the queue now, list, show, cancel and prune jobs.

Each command runs its own event loop (``asyncio.run``) and opens and closes the
process's pool itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection

from db.pool import close_pool, get_pool
from jobs import queue


def _run(main: Callable[[], Awaitable[int]]) -> int:
    async def wrapped() -> int:
        try:
            return await main()
        finally:
            await close_pool()

    return asyncio.run(wrapped())


def _fmt(n: int) -> str:
    return f"{n:,}"


def cmd_run(args: argparse.Namespace) -> int:
    """Drain the queue now; exit when no job is left (or after --wait for late ones).

    The runner is a :class:`jobs.worker.Worker` claiming every queued job: it also takes
    over jobs whose lease expires while it runs (a dead or hung runner's), and it waits
    out a database outage (one line when it starts, one when it ends) instead of dying.
    """
    from jobs.logs import configure_cli_logging
    from jobs.runner import RunReport
    from jobs.worker import Worker

    configure_cli_logging()

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def progress(job_id: int, processed: int, total: int) -> None:
            print(f"job {job_id}: {_fmt(processed)}/{_fmt(total)} rows", flush=True)

        def report(r: RunReport) -> None:
            tail = f" -> continued by job {r.next_job_id}" if r.next_job_id else ""
            why = f" ({r.error})" if r.error and r.status != "done" else ""
            print(
                f"job {r.job_id}: {r.status} {_fmt(r.processed)}/{_fmt(r.total)}{why}{tail}",
                flush=True,
            )

        def outage(message: str | None) -> None:
            text = message or "the database answers again; carrying on"
            print(f"runner {worker.owner}: {text}", flush=True)

        worker = Worker(
            claim_all=True,
            kind="cli",
            stop=stop,
            on_progress=progress,
            on_report=report,
            on_outage=outage,
            max_jobs=args.max_jobs,
        )
        if args.forever:
            print(f"runner {worker.owner}: running queued jobs until stopped", flush=True)
            await worker.serve()
        else:
            print(f"runner {worker.owner}: draining the queue", flush=True)
            queued, running = await worker.run_until_idle(args.wait)
            if queued + running and not stop.is_set() and not worker.at_max_jobs:
                print(
                    f"{queued} queued and {running} running job(s) are not claimable now "
                    "(backoff or a live lease)",
                    flush=True,
                )
        counts: dict[str, int] = {}
        for r in worker.reports:
            counts[r.status] = counts.get(r.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do"
        print(f"runner {worker.owner}: {len(worker.reports)} run(s): {summary}", flush=True)
        return 1 if counts.get("error") else 0

    return _run(main)


def _job_line(j: dict[str, Any]) -> str:
    error = f"  {j['error']}" if j.get("error") else ""
    return (
        f"{j['job_id']:>8}  {j['tenant_id']:<16} {j['status']:<9} "
        f"{_fmt(int(j['processed'])):>10}/{_fmt(int(j['total'])):<10} "
        f"{j['created_at']:%Y-%m-%d %H:%M:%S}{error}"
    )


def _with_conn(work: Callable[[AsyncConnection[Any]], Awaitable[int]]) -> int:
    """Run ``work`` on one connection of the process's pool; return its exit status."""

    async def main() -> int:
        pool = await get_pool()
        async with pool.connection() as conn:
            return await work(conn)

    return _run(main)


def cmd_list(args: argparse.Namespace) -> int:
    """List jobs newest first (optionally one status or tenant)."""

    async def main(conn: AsyncConnection[Any]) -> int:
        rows = await queue.list_jobs(
            conn, tenant_id=args.tenant, status=args.status, before=args.before, limit=args.limit
        )
        print(f"{'job_id':>8}  {'tenant':<16} {'status':<9} {'processed/total':^21} created")
        for j in rows:
            print(_job_line(j))
        if len(rows) == args.limit:
            print(f"(more: --before {rows[-1]['job_id']})")
        return 0

    return _with_conn(main)


def cmd_show(args: argparse.Namespace) -> int:
    """Print one job as JSON."""

    async def main(conn: AsyncConnection[Any]) -> int:
        job = await queue.get_job(conn, args.job_id, None)
        if job is None:
            print(f"icp: no job {args.job_id}")
            return 1
        print(json.dumps(job, indent=2, default=str))
        return 0

    return _with_conn(main)


def cmd_cancel(args: argparse.Namespace) -> int:
    """Cancel a queued job, or ask its runner to stop a running one."""

    async def main(conn: AsyncConnection[Any]) -> int:
        async with conn.transaction():
            ok = await queue.cancel_job(conn, args.job_id, None)
            job = await queue.get_job(conn, args.job_id, None)
        if job is None:
            print(f"icp: no job {args.job_id}")
            return 1
        if not ok:
            print(f"icp: job {args.job_id} already ended {job['status']}")
            return 1
        if job["status"] == "cancelled":
            print(f"job {args.job_id}: cancelled")
        else:
            print(f"job {args.job_id}: cancel requested; its runner stops at the next batch")
        return 0

    return _with_conn(main)


def cmd_prune(args: argparse.Namespace) -> int:
    """Delete finished jobs older than ICP_JOB_RETENTION_DAYS."""
    from config.settings import get_settings
    from jobs.runner import prune

    async def main() -> int:
        n = await prune()
        print(f"pruned {n} finished job(s) older than {get_settings().job_retention_days} days")
        return 0

    return _run(main)


def add_job_commands(sub: Any) -> None:
    """Register the ``icp jobs`` sub-commands on ``sub``."""
    parser: argparse.ArgumentParser = sub.add_parser("jobs", help="background jobs")
    jobs = parser.add_subparsers(dest="cmd", required=True)

    run = jobs.add_parser("run", help="drain the queue now and exit when it is empty")
    run.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep polling up to SECONDS for jobs not claimable yet (backoff, live leases)",
    )
    run.add_argument("--max-jobs", type=int, default=None, help="stop after this many runs")
    run.add_argument(
        "--forever",
        action="store_true",
        help="keep running queued jobs as they come (a worker without a server) until stopped",
    )
    run.set_defaults(func=cmd_run)

    ls = jobs.add_parser("list", help="list jobs, newest first")
    ls.add_argument("--status", choices=queue.STATUSES)
    ls.add_argument("--tenant")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--before", type=int, default=None, help="only jobs with a smaller id")
    ls.set_defaults(func=cmd_list)

    show = jobs.add_parser("show", help="show one job")
    show.add_argument("job_id", type=int)
    show.set_defaults(func=cmd_show)

    cancel = jobs.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job_id", type=int)
    cancel.set_defaults(func=cmd_cancel)

    jobs.add_parser("prune", help="delete finished jobs past the retention").set_defaults(
        func=cmd_prune
    )
