"""Settings are typed, defaulted and validated with one-line messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings


def test_defaults() -> None:
    s = load_settings({})
    assert s.database_url is None
    assert s.data_dir == Path(".data")
    assert s.staging_upsert_mode == "background"
    assert (s.upsert_sync_limit, s.upsert_max_per_job, s.staging_batch_size) == (10, 2000, 500)
    assert s.chat_debounce_ms == 400
    assert (s.nightly_cron, s.nightly_tz) == ("0 2 * * *", "Asia/Singapore")
    assert s.auth_jwt_secret is None
    assert (s.auth_jwt_audience, s.auth_jwt_issuer, s.auth_jwt_max_ttl_s) == (None, None, 86_400)
    assert s.db_pool_max == 10
    assert (s.head_budget_ms, s.job_lease_seconds, s.job_max_attempts) == (800, 60, 3)
    assert s.job_retention_days == 30
    assert s.load_workers == (os.cpu_count() or 1)


def test_values_are_parsed() -> None:
    secret = "s3cret-" + "x" * 25  # 32 bytes: the shortest accepted
    s = load_settings(
        {
            "DATABASE_URL": "postgresql://u@db.example/icp",
            "ICP_DATA_DIR": "/srv/icp",
            "STAGING_UPSERT_MODE": "SYNC_PREVIEW",
            "UPSERT_SYNC_LIMIT": "0",
            "UPSERT_MAX_PER_JOB": "5",
            "STAGING_BATCH_SIZE": " 250 ",
            "CHAT_DEBOUNCE_MS": "0",
            "NIGHTLY_CRON": "*/5 * * * *",
            "NIGHTLY_TZ": "UTC",
            "ICP_AUTH_JWT_SECRET": secret,
            "ICP_AUTH_JWT_AUDIENCE": "icp",
            "ICP_AUTH_JWT_ISSUER": "https://idp.example",
            "ICP_AUTH_JWT_MAX_TTL_S": "3600",
            "ICP_HEAD_BUDGET_MS": "1500",
            "ICP_JOB_LEASE_SECONDS": "30",
            "ICP_JOB_MAX_ATTEMPTS": "5",
            "ICP_JOB_RETENTION_DAYS": "7",
            "ICP_DB_POOL_MAX": "40",
            "ICP_LOAD_WORKERS": "3",
            "ICP_PUBLIC_URL": "https://leads.example.com/",
        }
    )
    assert s.database_url == "postgresql://u@db.example/icp"
    assert s.data_dir == Path("/srv/icp")
    assert s.load_workers == 3
    assert s.staging_upsert_mode == "sync_preview"
    assert (s.upsert_sync_limit, s.upsert_max_per_job, s.staging_batch_size) == (0, 5, 250)
    assert s.chat_debounce_ms == 0
    assert (s.nightly_cron, s.nightly_tz) == ("*/5 * * * *", "UTC")
    assert s.auth_jwt_secret == secret
    assert (s.auth_jwt_audience, s.auth_jwt_issuer) == ("icp", "https://idp.example")
    assert s.auth_jwt_max_ttl_s == 3600
    assert (s.head_budget_ms, s.job_lease_seconds, s.job_max_attempts) == (1500, 30, 5)
    assert (s.job_retention_days, s.db_pool_max) == (7, 40)
    assert s.public_url == "https://leads.example.com"


@pytest.mark.parametrize("secret", ["s3cret", "x" * 31, "\u00e9" * 15])
def test_short_secret_is_refused_without_echoing_it(secret: str) -> None:
    # 31 ASCII bytes, or 15 two-byte characters (30 bytes): the length is counted in bytes.
    with pytest.raises(SettingsError) as info:
        load_settings({"ICP_AUTH_JWT_SECRET": secret})
    message = str(info.value)
    assert message.startswith("ICP_AUTH_JWT_SECRET: expected at least 32 bytes")
    assert secret not in message and "\n" not in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STAGING_UPSERT_MODE", "fast"),
        ("UPSERT_SYNC_LIMIT", "-1"),
        ("UPSERT_SYNC_LIMIT", "ten"),
        ("UPSERT_MAX_PER_JOB", "0"),
        ("STAGING_BATCH_SIZE", "0"),
        ("CHAT_DEBOUNCE_MS", "soon"),
        ("NIGHTLY_CRON", "at two"),
        ("NIGHTLY_CRON", "99 2 * * *"),
        ("NIGHTLY_TZ", "Mars/Olympus"),
        ("DATABASE_URL", "mysql://x"),
        ("ICP_DB_POOL_MAX", "1"),
        ("ICP_DB_POOL_MAX", "many"),
        ("ICP_AUTH_JWT_MAX_TTL_S", "10"),
        ("ICP_LOAD_WORKERS", "0"),
        ("ICP_PUBLIC_URL", "leads.example.com"),
        ("ICP_PUBLIC_URL", "ftp://leads.example.com"),
        ("ICP_PUBLIC_URL", "https://x/?a=1"),
    ],
)
def test_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value})
    message = str(info.value)
    assert message.startswith(f"{name}=")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "value"), [("STAGING_UPSERT_MODE", "fast"), ("ICP_AUTH_JWT_SECRET", "short-secret")]
)
def test_cli_stops_with_one_line(tmp_path: Path, name: str, value: str) -> None:
    exe = Path(sys.executable).parent / "icp"
    proc = subprocess.run(
        [str(exe), "db", "migrate"],
        env={name: value, "ICP_DATA_DIR": str(tmp_path), "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert name in lines[0]
    if "SECRET" in name:
        assert value not in proc.stderr  # a secret is never echoed, even a bad one
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "pg").exists()  # it stopped before touching any database


def test_dead_embedded_handles_are_pruned(tmp_path: Path) -> None:
    import json
    import os

    from db.embedded import prune_dead_handles

    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / ".handle_pids.json").write_text(json.dumps([os.getpid(), dead.pid]))
    assert prune_dead_handles(tmp_path) == [dead.pid]
    assert json.loads((tmp_path / ".handle_pids.json").read_text()) == [os.getpid()]
