"""`icp dev` (what `make dev` runs) on a fresh data dir: embedded PostgreSQL, sample, server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from icp.devserver import free_port

pytestmark = pytest.mark.acceptance


def _run_dev(data_dir: Path, port: int) -> tuple[str, int]:
    """Start icp dev, wait for the server, stop it with SIGTERM; return (output, exit code)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env["ICP_DATA_DIR"] = str(data_dir)
    exe = Path(sys.executable).parent / "icp"
    log = data_dir / f"dev-{port}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [str(exe), "dev", "--port", str(port)], env=env, stdout=fh, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                assert proc.poll() is None, log.read_text()[-2000:]
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/ok", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            preview = httpx.get(
                f"http://127.0.0.1:{port}/icp/preview", params={"q": "manufacturing"}, timeout=30
            )
            assert preview.json()["total"] == 1171
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
    return log.read_text(), code


def test_dev_twice_loads_once_and_stops_the_embedded_server(tmp_path: Path) -> None:
    out, code = _run_dev(tmp_path, free_port())
    assert "loaded 24,385 registry rows" in out, out[-2000:]
    assert "NEXT_PUBLIC_ASSISTANT_ID=icp_search" in out
    assert code == 0
    # The last user left: the embedded server is stopped, not orphaned.
    assert not (tmp_path / "pg" / "postmaster.pid").exists()

    out, code = _run_dev(tmp_path, free_port())
    assert "staging holds 24,385 registry rows: nothing loaded" in out
    assert "migrations applied: none pending" in out
    assert not (tmp_path / "pg" / "postmaster.pid").exists()


def test_taken_port_fails_loudly(tmp_path: Path) -> None:
    import socket

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env["ICP_DATA_DIR"] = str(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        exe = Path(sys.executable).parent / "icp"
        proc = subprocess.run(
            [str(exe), "dev", "--port", str(port)], env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
    assert proc.returncode == 1
    assert f"port {port}" in proc.stderr and "taken" in proc.stderr
    assert f"make dev PORT={port + 1}" in proc.stderr  # the knob a make user has
    assert not (tmp_path / "pg").exists()  # stopped before starting a database or migrating
