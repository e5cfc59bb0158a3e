"""Small helpers shared by the integration and acceptance tests."""

from __future__ import annotations

import psycopg

AUTH_SECRET = "test-secret-0123456789-0123456789-0123"
"""The HS256 secret tests set as ICP_AUTH_JWT_SECRET (long enough for PyJWT's check)."""


def written_rows(url: str) -> tuple[int, int, int]:
    """Return the (companies, lead_scores, background_jobs) row counts: what a chat writes."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM companies), (SELECT count(*) FROM lead_scores),"
            " (SELECT count(*) FROM background_jobs)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])
