"""Settings are typed, defaulted and validated with one-line messages."""

from __future__ import annotations

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


def test_values_are_parsed() -> None:
    s = load_settings(
        {
            "STAGING_UPSERT_MODE": "SYNC_PREVIEW",
            "UPSERT_SYNC_LIMIT": "0",
            "UPSERT_MAX_PER_JOB": "5",
            "NIGHTLY_CRON": "*/5 * * * *",
            "NIGHTLY_TZ": "UTC",
            "ICP_AUTH_JWT_SECRET": "s3cret",
        }
    )
    assert s.staging_upsert_mode == "sync_preview"
    assert s.upsert_sync_limit == 0
    assert s.upsert_max_per_job == 5
    assert s.auth_jwt_secret == "s3cret"


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
    ],
)
def test_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value})
    message = str(info.value)
    assert message.startswith(f"{name}=")
    assert "\n" not in message


def test_cli_stops_with_one_line(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "icp"
    proc = subprocess.run(
        [str(exe), "db", "migrate"],
        env={"STAGING_UPSERT_MODE": "fast", "ICP_DATA_DIR": str(tmp_path), "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "STAGING_UPSERT_MODE" in lines[0]
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
