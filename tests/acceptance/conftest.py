"""Start the real LangGraph dev server (graph + custom app) on a fresh sample database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from icp.devserver import start_server


@pytest.fixture
def server(sample_db: str) -> Iterator[str]:
    """Return the URL of a running LangGraph dev server on a fresh sample database."""
    srv = start_server(sample_db)
    try:
        yield srv.url
    finally:
        srv.stop()
