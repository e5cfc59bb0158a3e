"""Start and stop a ``langgraph dev`` server in a subprocess (tests and benchmarks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevServer:
    """A running ``langgraph dev`` process."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: Path, fh: IO[bytes]) -> None:
        self.proc, self.url, self.log, self._fh = proc, url, log, fh

    def stop(self) -> None:
        """Terminate the server and close its log."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._fh.close()


def start_server(
    database_url: str,
    extra_env: dict[str, str] | None = None,
    *,
    config: str = "langgraph.json",
    jobs: int = 8,
) -> DevServer:
    """Start ``langgraph dev`` on a free port and wait until it answers /ok."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TRACING": "false",
        **(extra_env or {}),
    }
    log = ROOT / ".data" / f"langgraph-dev-{port}.log"
    log.parent.mkdir(exist_ok=True)
    exe = Path(sys.executable).parent / "langgraph"
    fh = log.open("wb")
    cmd = [
        str(exe), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
        "--port", str(port), "--n-jobs-per-worker", str(jobs), "--config", config,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    server = DevServer(proc, f"http://127.0.0.1:{port}", log, fh)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            server.stop()
            raise RuntimeError(f"langgraph dev exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/ok", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"langgraph dev did not start: {log.read_text()[-3000:]}")
