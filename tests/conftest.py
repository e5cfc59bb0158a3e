"""Shared fixtures: a real PostgreSQL (configured or embedded) and per-test databases.

Each integration test gets its own database cloned from a migrated template, so tests
are isolated and fast. Templates are keyed by a hash of the migrations and shipped
data, and reused across runs until either changes.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from importlib import resources
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ROWS = 24_385


def _admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return url
    from db.embedded import start_embedded

    server = start_embedded(ROOT / ".data" / "test-pg")
    return str(server.get_uri("postgres"))


def _with_db(url: str, name: str) -> str:
    return str(psycopg.conninfo.make_conninfo(url, dbname=name))


def _fingerprint() -> str:
    h = hashlib.sha256()
    for pkg in ("db.migrations",):
        for entry in sorted(resources.files(pkg).iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".sql"):
                h.update(entry.name.encode() + entry.read_bytes())
    for sub in ("ssic2020", "acra"):
        for p in sorted((ROOT / "db" / "data" / sub).glob("*.csv")):
            h.update(p.name.encode() + str(p.stat().st_size).encode())
    # The vocabulary is small and edited often: its content (and how it is built) counts.
    for p in sorted((ROOT / "db" / "data" / "vocabulary").glob("*.csv")):
        h.update(p.name.encode() + p.read_bytes())
    h.update((ROOT / "db" / "vocabulary.py").read_bytes())
    return h.hexdigest()[:12]


class Server:
    """The test server and its templates."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        fp = _fingerprint()
        # Checkouts sharing one server (parallel work on the machine's PostgreSQL) keep
        # their own templates: each drops only its own stale ones.
        self.prefix = f"icp_tmpl_{hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]}_"
        self.templates = {kind: f"{self.prefix}{kind}_{fp}" for kind in ("empty", "sample")}

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.admin_url, autocommit=True)

    def url(self, name: str) -> str:
        return _with_db(self.admin_url, name)

    def prepare(self) -> None:
        from db.acra import load_file
        from db.migrate import migrate
        from db.reference import load_reference
        from icp.cli import sample_files

        with self.admin() as conn:
            conn.execute("SELECT pg_advisory_lock(4242)")
            try:
                existing = {
                    r[0]
                    for r in conn.execute(
                        "SELECT datname FROM pg_database WHERE starts_with(datname, %s)"
                        " OR datname ~ '^icp_tmpl_(empty|sample)_'",  # the older naming
                        (self.prefix,),
                    )
                }
                for stale in existing - set(self.templates.values()):
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(stale)
                        )
                    )
                for kind, name in self.templates.items():
                    if name in existing:
                        continue
                    building = name + "_build"
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(building)
                        )
                    )
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
                    migrate(self.url(building), after=load_reference)
                    if kind == "sample":
                        with psycopg.connect(self.url(building), autocommit=True) as tconn:
                            for f in sample_files():
                                load_file(tconn, f)
                            tconn.execute("VACUUM ANALYZE")
                    conn.execute(
                        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                            sql.Identifier(building), sql.Identifier(name)
                        )
                    )
            finally:
                conn.execute("SELECT pg_advisory_unlock(4242)")

    def clone(self, kind: str) -> str:
        name = f"icp_test_{uuid.uuid4().hex[:16]}"
        with self.admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(self.templates[kind])
                )
            )
        return name

    def drop(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def pg_server() -> Server:
    """Return the PostgreSQL server the suite runs on, with its templates built."""
    server = Server(_admin_url())
    server.prepare()
    return server


def _database(pg_server: Server, kind: str) -> Iterator[str]:
    name = pg_server.clone(kind)
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop(name)


@pytest.fixture
def empty_db(pg_server: Server) -> Iterator[str]:
    """Return the URL of a fresh migrated database with SSIC reference data, no registry rows."""
    yield from _database(pg_server, "empty")


@pytest.fixture
def sample_db(pg_server: Server) -> Iterator[str]:
    """Return the URL of a fresh migrated database holding the real ACRA sample (24,385 rows)."""
    yield from _database(pg_server, "sample")


@pytest.fixture
def bare_db(pg_server: Server) -> Iterator[str]:
    """Return the URL of a fresh, completely empty database (nothing migrated)."""
    name = f"icp_test_{uuid.uuid4().hex[:16]}"
    with pg_server.admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop(name)


@pytest.fixture
async def app_db(sample_db: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """Point the product's settings and pool at a fresh sample database."""
    from config.settings import reset_settings
    from db.pool import close_pool

    await close_pool()
    monkeypatch.setenv("DATABASE_URL", sample_db)
    reset_settings()
    yield sample_db
    await close_pool()
    reset_settings()


@pytest.fixture
async def client(app_db: str) -> AsyncIterator[httpx.AsyncClient]:
    """Return an HTTP client on the custom app (in-process), backed by a fresh sample database."""
    from api.app import app

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def auth_on(monkeypatch: pytest.MonkeyPatch, app_db: str) -> None:
    """Turn auth on with the tests' secret (tests.helpers.AUTH_SECRET)."""
    from config.settings import reset_settings
    from tests.helpers import AUTH_SECRET

    monkeypatch.setenv("ICP_AUTH_JWT_SECRET", AUTH_SECRET)
    reset_settings()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    from config.settings import reset_settings

    reset_settings()
    yield
    reset_settings()
