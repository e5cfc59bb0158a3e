"""Helpers shared by the jobs tests: real jobs on the real sample registry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from db.companies import IcpCode

ROOT = Path(__file__).resolve().parents[2]
ICP = str(Path(sys.executable).parent / "icp")
MANUFACTURING_ROWS = 1659


def manufacturing_codes(url: str) -> list[IcpCode]:
    """Return every SSIC section C subclass as the ICP of a 'manufacturing' request."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT code, title FROM ssic_ref WHERE section = 'C' AND level = 'subclass'"
        ).fetchall()
    return [IcpCode(code, 1.0, "manufacturing", title) for code, title in rows]


async def enqueue(
    url: str,
    codes: list[IcpCode],
    *,
    tenant: str = "default",
    terms: tuple[str, ...] = ("manufacturing",),
    max_attempts: int = 3,
) -> int:
    """Queue a staging_upsert job the way the chat does; return its id."""
    from db.companies import count_matching
    from jobs.queue import enqueue_staging_upsert

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        total, _ = await count_matching(conn, [c.code for c in codes])
        job = await enqueue_staging_upsert(
            conn,
            tenant_id=tenant,
            terms=list(terms),
            codes=codes,
            total=total,
            max_attempts=max_attempts,
        )
    assert job.created
    return job.job_id


def job(url: str, job_id: int) -> dict[str, Any]:
    """Return a job row."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        row = conn.execute("SELECT * FROM background_jobs WHERE job_id = %s", (job_id,)).fetchone()
    assert row is not None
    return row


def matching_uens(url: str, codes: list[IcpCode]) -> set[str]:
    """Return the UENs of the staging rows the codes match (by primary or secondary code)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT uen FROM staging_acra_companies"
            " WHERE primary_ssic_code = ANY(%(c)s) OR secondary_ssic_code = ANY(%(c)s)",
            {"c": [c.code for c in codes]},
        ).fetchall()
    return {r[0] for r in rows}


def company_uens(url: str) -> list[str]:
    """Return every UEN in companies (a list, so duplicates would show)."""
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT uen FROM companies").fetchall()]


def icp_env(url: str, **extra: str) -> dict[str, str]:
    """Return the environment of an ``icp`` subprocess on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ICP_", "STAGING_", "UPSERT_"))}
    env.update(DATABASE_URL=url, PYTHONUNBUFFERED="1", **extra)
    return env


def icp(
    url: str, *args: str, timeout: float = 120, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run the real ``icp`` console script against the test database."""
    return subprocess.run(
        [ICP, *args],
        env=icp_env(url, **extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def slow_batches(url: str, seconds: float) -> None:
    """Make every batch statement take at least ``seconds`` (a statement-level trigger)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION slow_batch() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN PERFORM pg_sleep({float(seconds)}); RETURN NULL; END $$;"
            " CREATE TRIGGER slow_batch AFTER INSERT ON companies"
            " FOR EACH STATEMENT EXECUTE FUNCTION slow_batch();"
        )


GATE_LOCK = 4242001
"""The advisory lock a gated batch waits for (see :func:`gate_batches`)."""


def gate_batches(url: str, companies: int) -> None:
    """Make every batch that brings companies to ``companies`` rows or more wait for
    :data:`GATE_LOCK` (an advisory lock a test holds to stop a runner inside a batch)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION gate_batch() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN IF (SELECT count(*) FROM companies) >= {int(companies)} THEN"
            f" PERFORM pg_advisory_lock({GATE_LOCK}); PERFORM pg_advisory_unlock({GATE_LOCK});"
            " END IF; RETURN NULL; END $$;"
            " CREATE TRIGGER gate_batch AFTER INSERT ON companies"
            " FOR EACH STATEMENT EXECUTE FUNCTION gate_batch();"
        )


def fill_disk_at(url: str, companies: int) -> None:
    """Fail every insert into companies with a real disk_full error once it holds that many."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION fail_disk() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN IF (SELECT count(*) FROM companies) >= {int(companies)} THEN"
            " RAISE EXCEPTION 'could not extend file \"base/1/2\": No space left on device'"
            " USING ERRCODE = 'disk_full'; END IF; RETURN NEW; END $$;"
            " CREATE TRIGGER fail_disk BEFORE INSERT ON companies"
            " FOR EACH ROW EXECUTE FUNCTION fail_disk();"
        )


def sessions(url: str, application: str, state: str, query_like: str) -> int:
    """Count the server's sessions of one application in a state running a query pattern."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
            " AND state = %s AND query LIKE %s",
            (application, state, query_like),
        ).fetchone()
    return int(row[0]) if row else 0


def division_codes(url: str) -> list[list[IcpCode]]:
    """Return one ICP per manufacturing division (10..33) that has registry rows."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT r.division, array_agg(r.code ORDER BY r.code) FROM ssic_ref r"
            " WHERE r.section = 'C' AND r.level = 'subclass'"
            "   AND EXISTS (SELECT 1 FROM staging_ssic_counts c WHERE c.code = r.code)"
            " GROUP BY r.division ORDER BY r.division"
        ).fetchall()
    return [[IcpCode(c, 1.0, f"division {d}") for c in codes] for d, codes in rows]
