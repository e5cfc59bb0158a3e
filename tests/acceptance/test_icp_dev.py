"""`icp dev` (what `make dev` runs) on a fresh data dir: embedded PostgreSQL, sample, server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from icp.devserver import ROOT, free_port, ui_entries, wait_for_bundle

pytestmark = pytest.mark.acceptance
NODE_TOOLS = {"node", "nodejs", "npm", "npx", "corepack"}


def _path_without_node(tmp: Path) -> str:
    """Return a PATH like this machine's with every Node.js tool left out."""
    bin_dir = tmp / "bin-without-node"
    bin_dir.mkdir()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        for tool in Path(folder).glob("*") if Path(folder).is_dir() else []:
            if tool.name not in NODE_TOOLS and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    return str(bin_dir)


def _run_dev(
    data_dir: Path,
    port: int,
    path: str | None = None,
    check: Callable[[str, subprocess.Popen[bytes]], None] | None = None,
) -> tuple[str, int]:
    """Start icp dev, wait for the server, stop it with SIGTERM; return (output, exit code)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env["ICP_DATA_DIR"] = str(data_dir)
    if path is not None:
        env["PATH"] = path
    exe = Path(sys.executable).parent / "icp"
    log = data_dir / f"dev-{port}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [str(exe), "dev", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
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
            assert preview.json()["total"] == 1659
            if check is not None:
                check(f"http://127.0.0.1:{port}", proc)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
    return log.read_text(), code


def test_dev_twice_loads_once_and_stops_the_embedded_server(tmp_path: Path) -> None:
    def cards_served(url: str, proc: subprocess.Popen[bytes]) -> None:
        wait_for_bundle(ui_entries("langgraph.json"), started, proc)
        ui = httpx.post(f"{url}/ui/icp_search", json={"name": "leads"}, timeout=30)
        assert ui.status_code == 200, ui.text
        assert f'src="{url}/ui/icp_search/entrypoint.js"' in ui.text

    started = time.time() - 1
    out, code = _run_dev(tmp_path, free_port(), check=cards_served)
    assert "loaded 24,385 registry rows" in out, out[-2000:]
    assert "NEXT_PUBLIC_ASSISTANT_ID=icp_search" in out
    assert "without the generative-UI cards" not in out
    assert code == 0
    # The last user left: the embedded server is stopped, not orphaned.
    assert not (tmp_path / "pg" / "postmaster.pid").exists()

    assert "Starting UI bundler" in out

    # Without Node.js the server starts all the same, without the cards, and says so once.
    out, code = _run_dev(tmp_path, free_port(), _path_without_node(tmp_path))
    assert "Starting UI bundler" not in out
    assert "staging holds 24,385 registry rows: nothing loaded" in out
    assert "migrations applied: none pending" in out
    notes = [line for line in out.splitlines() if "generative-UI cards" in line]
    assert notes == [
        "icp dev: Node.js (npx) not found: starting without the generative-UI cards"
        " (agent-chat-ui shows the text replies only)"
    ]
    assert code == 0
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
