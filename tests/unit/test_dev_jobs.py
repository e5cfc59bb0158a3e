"""``icp dev`` sizes the connection pool for the runs it admits (``--jobs``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config.settings import reset_settings
from icp.cli import build_parser
from icp.devserver import DEFAULT_JOBS, size_pool_for_jobs


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    reset_settings()
    yield
    reset_settings()


def test_dev_admits_the_default_jobs() -> None:
    args = build_parser().parse_args(["dev"])
    assert args.jobs == DEFAULT_JOBS


def test_unset_pool_is_raised_for_many_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ICP_DB_POOL_MAX", raising=False)
    env: dict[str, str] = {}
    assert size_pool_for_jobs(50, env) is None
    assert env["ICP_DB_POOL_MAX"] == "52"


def test_unset_pool_left_alone_when_it_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ICP_DB_POOL_MAX", raising=False)
    env: dict[str, str] = {}
    assert size_pool_for_jobs(DEFAULT_JOBS, env) is None
    assert "ICP_DB_POOL_MAX" not in env


def test_explicit_small_pool_is_kept_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICP_DB_POOL_MAX", "5")
    env = {"ICP_DB_POOL_MAX": "5"}
    warning = size_pool_for_jobs(8, env)
    assert warning is not None and "ICP_DB_POOL_MAX=10" in warning
    assert env["ICP_DB_POOL_MAX"] == "5"
