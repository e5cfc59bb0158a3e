"""``icp``: the operator CLI (database, registry loads, jobs, tenants, the dev server)."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from config.settings import UPSERT_MODES, SettingsError, get_settings
from icp.devserver import (
    DEFAULT_JOBS,
    can_bundle_ui,
    server_config,
    size_pool_for_jobs,
    stop_server_group,
    ui_entries,
)


def _conninfo() -> str:
    from db.pool import resolve_database_url

    return resolve_database_url()


def _migrate(conninfo: str) -> None:
    import psycopg

    from db.migrate import migrate
    from db.reference import load_reference

    loaded: list[int] = []

    def seed(conn: psycopg.Connection) -> None:
        loaded.append(load_reference(conn))

    applied = migrate(conninfo, after=seed)
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "none pending"
    print(f"migrations applied: {names}")
    print(
        f"SSIC 2020 reference: {'loaded ' + str(loaded[0]) + ' rows' if loaded[0] else 'current'}"
    )


def cmd_db_migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations and the SSIC reference data."""
    _migrate(_conninfo())
    return 0


def _load(conninfo: str, files: Sequence[Path]) -> int:
    import psycopg

    from db.acra import Progress, load_file

    total = 0
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for path in files:
            res = load_file(conn, path, progress=Progress(path))
            total += res.rows_in_file
            print(
                f"{path.name}: {res.rows_in_file:,} rows read, {res.inserted:,} inserted, "
                f"{res.updated:,} updated, {res.unchanged:,} unchanged"
            )
    return total


def cmd_db_load_acra(args: argparse.Namespace) -> int:
    """Load ACRA CSV files into staging."""
    _load(_conninfo(), [Path(f) for f in args.files])
    return 0


def sample_files() -> list[Path]:
    """Return the ACRA extracts shipped with the package."""
    base = resources.files("db").joinpath("data/acra")
    return sorted(Path(str(p)) for p in base.iterdir() if p.name.endswith(".csv"))


def _staging_count(conninfo: str) -> int:
    import psycopg

    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM staging_acra_companies").fetchone()
        return int(row[0]) if row else 0


def cmd_db_setup(args: argparse.Namespace) -> int:
    """Migrate, then load the shipped ACRA extracts when staging is empty."""
    conninfo = _conninfo()
    _migrate(conninfo)
    _ensure_sample(conninfo)
    return 0


def _ensure_sample(conninfo: str) -> None:
    have = _staging_count(conninfo)
    if have:
        print(f"staging holds {have:,} registry rows: nothing loaded")
        return
    loaded = _load(conninfo, sample_files())
    print(f"loaded {loaded:,} registry rows from the shipped ACRA extracts")


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def cmd_dev(args: argparse.Namespace) -> int:
    """Prepare the database and run the LangGraph dev server with the graph and routes."""
    # The port first: a taken port should stop the command before any database work.
    if not args.no_server and not _port_free(args.host, args.port):
        print(
            f"icp dev: port {args.port} on {args.host} is taken; stop what uses it or choose "
            f"another: make dev PORT={args.port + 1} (icp dev --port {args.port + 1})",
            file=sys.stderr,
        )
        return 1
    conninfo = _conninfo()
    _migrate(conninfo)
    _ensure_sample(conninfo)
    if args.no_server:
        return 0
    config = args.config
    if ui_entries(config) and not can_bundle_ui():
        print(
            "icp dev: Node.js (npx) not found: starting without the generative-UI cards"
            " (agent-chat-ui shows the text replies only)",
            file=sys.stderr,
            flush=True,
        )
        config = server_config(config, ui=False)
    langgraph = shutil.which("langgraph", path=str(Path(sys.executable).parent)) or "langgraph"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=conninfo,
        LANGGRAPH_CLI_NO_ANALYTICS="1",
        LANGGRAPH_NO_VERSION_CHECK="true",
        LANGSMITH_TRACING="false",
    )
    if warning := size_pool_for_jobs(args.jobs, env):
        print(warning, file=sys.stderr, flush=True)
    # Local use: queued work runs as soon as it is queued (production defaults to nightly).
    env["JOBS_START"] = os.environ.get("JOBS_START") or "immediate"
    url = f"http://{args.host}:{args.port}"
    print(
        f"\nICP industry search: {url}\n"
        f"  product page:  {url}/app/\n"
        f"  API docs:      {url}/icp/docs (custom routes), {url}/docs (LangGraph API)\n"
        f"  agent-chat-ui: NEXT_PUBLIC_API_URL={url} NEXT_PUBLIC_ASSISTANT_ID=icp_search\n"
        f"  Studio:        https://smith.langchain.com/studio/?baseUrl={url}\n"
        f"  jobs:          JOBS_START={env['JOBS_START']}\n",
        flush=True,
    )
    cmd = [
        langgraph,
        "dev",
        "--no-browser",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--n-jobs-per-worker",
        str(args.jobs),
        "--config",
        config,
    ]
    if not args.reload:
        cmd.append("--no-reload")
    # Its own session: stopping it stops the cards' bundler it starts too (stop_server_group).
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM too: stop the server, then exit normally

    signal.signal(signal.SIGTERM, _stop)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        stop_server_group(proc, timeout=30)
        return 0  # stopped on request
    stop_server_group(proc, timeout=1)  # it ended by itself: clear what it left running
    return code
    # Returning (not dying from the signal) lets the embedded server's exit hook stop it
    # when this was its last user.


def cmd_tenant_mode(args: argparse.Namespace) -> int:
    """Set or clear a tenant's staging-upsert mode override."""
    import psycopg

    from db.queries import q

    mode = None if args.mode == "default" else args.mode
    with psycopg.connect(_conninfo()) as conn:
        conn.execute(q("set_tenant_mode"), {"tenant_id": args.tenant, "mode": mode})
    print(f"tenant {args.tenant}: mode {mode or 'default (STAGING_UPSERT_MODE)'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for every ``icp`` command."""
    p = argparse.ArgumentParser(prog="icp", description=__doc__)
    sub = p.add_subparsers(dest="group", required=True)

    db = sub.add_parser("db", help="database and registry data").add_subparsers(
        dest="cmd", required=True
    )
    db.add_parser("migrate", help="apply migrations and SSIC reference data").set_defaults(
        func=cmd_db_migrate
    )
    load = db.add_parser("load-acra", help="load ACRA corporate-entity CSV files into staging")
    load.add_argument("files", nargs="+", metavar="FILE")
    load.set_defaults(func=cmd_db_load_acra)
    db.add_parser(
        "setup", help="migrate and load the shipped sample if staging is empty"
    ).set_defaults(func=cmd_db_setup)

    dev = sub.add_parser("dev", help="prepare the database and run langgraph dev")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=2024)
    dev.add_argument(
        "--jobs",
        type=int,
        default=DEFAULT_JOBS,
        help=f"--n-jobs-per-worker: runs served at once, the rest queue (default {DEFAULT_JOBS})",
    )
    dev.add_argument("--config", default="langgraph.json")
    dev.add_argument("--reload", action="store_true", help="reload on code changes")
    dev.add_argument("--no-server", action="store_true", help="stop once the database is ready")
    dev.set_defaults(func=cmd_dev)

    tenant = sub.add_parser("tenant", help="per-tenant settings").add_subparsers(
        dest="cmd", required=True
    )
    mode = tenant.add_parser("mode", help="override STAGING_UPSERT_MODE for one tenant")
    mode.add_argument("tenant")
    mode.add_argument("mode", choices=[*UPSERT_MODES, "default"])
    mode.set_defaults(func=cmd_tenant_mode)

    from icp.jobs_cli import add_job_commands

    add_job_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``icp`` command; configuration and data errors print one line, exit non-zero."""
    from db.acra import LoadError
    from db.migrate import MigrationError

    args = build_parser().parse_args(argv)
    try:
        get_settings()
        return int(args.func(args))
    except SettingsError as exc:
        print(f"icp: configuration error: {exc}", file=sys.stderr)
        return 2
    except (LoadError, MigrationError) as exc:
        print(f"icp: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
