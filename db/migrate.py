"""Apply the numbered ``db/migrations/NNNN_name.sql`` files in order, once each.

Migrations run under a session advisory lock, so two concurrent ``icp db migrate``
calls serialize: one applies, the other waits and then finds nothing to do. A file
whose first line is ``-- icp: no-transaction`` runs statement by statement in
autocommit (for ``CREATE INDEX CONCURRENTLY``); every other file runs in one
transaction together with its bookkeeping row.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import psycopg

MIGRATION_LOCK_KEY = 0x1C9_0001  # pg_advisory_lock key reserved for migrations
_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
_NO_TX = re.compile(r"^--\s*icp:\s*no-transaction\s*$", re.MULTILINE)


class MigrationError(RuntimeError):
    """A migration cannot be applied, or an applied one was edited afterwards."""


@dataclass(frozen=True)
class Migration:
    """One numbered schema change."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """Return the SHA-256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def transactional(self) -> bool:
        """Return whether the file runs inside one transaction."""
        return not _NO_TX.search(self.sql.split("\n", 1)[0])


def discover() -> list[Migration]:
    """Return the shipped migrations in version order."""
    found: list[Migration] = []
    for entry in resources.files("db.migrations").iterdir():
        m = _FILE.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration numbers in {versions}")
    return found


def split_statements(text: str) -> list[str]:
    """Split a no-transaction file into statements (each ends with ';' at a line end)."""
    parts = re.split(r";[ \t]*(?:\n|$)", text)
    stmts = []
    for part in parts:
        body = "\n".join(ln for ln in part.splitlines() if not ln.strip().startswith("--")).strip()
        if body:
            stmts.append(body)
    return stmts


_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def migrate(
    conninfo: str, *, after: Callable[[psycopg.Connection], object] | None = None
) -> list[Migration]:
    """Apply pending migrations; return those applied by this call.

    ``after`` runs while the lock is still held (the reference-data seed step); what it
    returns is ignored.
    """
    applied_now: list[Migration] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        _acquire(conn)
        try:
            conn.execute(_BOOKKEEPING)
            done = {
                row[0]: row[1]
                for row in conn.execute("SELECT version, checksum FROM schema_migrations")
            }
            for mig in discover():
                if mig.version in done:
                    if done[mig.version] != mig.checksum:
                        raise MigrationError(
                            f"migration {mig.version:04d}_{mig.name} was edited after it was "
                            "applied; add a new migration instead"
                        )
                    continue
                _apply(conn, mig)
                applied_now.append(mig)
            if after is not None:
                after(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied_now


def _acquire(conn: psycopg.Connection, poll_s: float = 0.1) -> None:
    # Poll instead of blocking in pg_advisory_lock: a waiter blocked in a statement holds a
    # snapshot, and CREATE INDEX CONCURRENTLY in the holder would wait for it (deadlock).
    while True:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (MIGRATION_LOCK_KEY,)).fetchone()
        if row and row[0]:
            return
        time.sleep(poll_s)


def _apply(conn: psycopg.Connection, mig: Migration) -> None:
    record = "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)"
    try:
        if mig.transactional:
            with conn.transaction():
                conn.execute(mig.sql.encode())
                conn.execute(record, (mig.version, mig.name, mig.checksum))
        else:
            for stmt in split_statements(mig.sql):
                conn.execute(stmt.encode())
            conn.execute(record, (mig.version, mig.name, mig.checksum))
    except psycopg.Error as exc:
        raise MigrationError(f"migration {mig.version:04d}_{mig.name} failed: {exc}") from exc
