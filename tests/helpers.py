"""Small helpers shared by the integration and acceptance tests."""

from __future__ import annotations

import json
import logging
from typing import Any

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


def error_lines(records: list[Any]) -> list[dict[str, Any]]:
    """Return the JSON failure lines (``jobs.failures``) among captured log records.

    Every record any logger captured is checked: a failure that also left a second,
    unstructured line (a traceback from a framework, say) shows up as a non-JSON record.
    """
    out = []
    for rec in records:
        if rec.name == "icp.errors":
            out.append(json.loads(rec.getMessage()))
        elif rec.levelno >= logging.ERROR or rec.exc_info:
            raise AssertionError(f"an unstructured error line: {rec.name}: {rec.getMessage()}")
    return out


def after_2015(term: str) -> dict[str, str]:
    """Return the part "incorporated after 2015" set aside beside ``term``, as state holds it."""
    return {
        "kind": "date",
        "text": "incorporated after 2015",
        "term": term,
        "op": "after",
        "value": "2015",
    }
