"""Start and stop a ``langgraph dev`` server in a subprocess (tests and benchmarks).

``langgraph.json`` maps the graph to its generative-UI module (``"ui"``); for it,
``langgraph dev`` runs ``npx @langchain/langgraph-ui watch`` to bundle the TSX and exits
when that fails. ``server_config`` gives the config to start with or without the cards.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

from config.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JOBS = 4
"""Runs the server admits at once (``--n-jobs-per-worker``; ``icp dev --jobs``, ``make dev``).

Every run of one ``langgraph dev`` process shares its one event loop: each admitted run
stretches the others (50 at once: a chat's own time ≈ 15–40× its time alone on 2 cores),
while the runs not admitted wait in the runtime's queue. 4 keeps a chat's own time under
a burst of 50 within ≈ 1.5–3× of one alone (8: 2.9–7.8×); the price is the queue: the
burst's last chats finish later than with all 50 admitted in most runs. BENCHMARKS.md ("50
concurrent chats") measures 2 to 50."""
UI_DIR = ROOT / ".langgraph_api" / "ui"
"""Where langgraph dev's bundler writes the cards (``public/<graph>/``, ``schemas.json``)."""


def ui_entries(config: str) -> dict[str, str]:
    """Return the config's generative-UI modules by graph (its ``"ui"`` entry)."""
    data = json.loads((ROOT / config).read_text(encoding="utf-8"))
    ui = data.get("ui") or {}
    return {str(k): str(v) for k, v in ui.items()}


def can_bundle_ui() -> bool:
    """Return whether this machine can bundle the cards (the server's bundler needs npx)."""
    return shutil.which("npx") is not None


def server_config(config: str = "langgraph.json", *, ui: bool) -> str:
    """Return the config to start: ``config`` itself, or without ``ui`` a copy minus its
    ``"ui"`` entry and with the server's /ui routes switched off (``http.disable_ui``:
    without bundles its static route answers 500), written to
    ``.langgraph_api/<name>.no-ui.json`` (paths stay relative to the checkout, where the
    server runs)."""
    path = ROOT / config
    data = json.loads(path.read_text(encoding="utf-8"))
    if ui or "ui" not in data:
        return config
    del data["ui"]
    data.setdefault("http", {})["disable_ui"] = True
    out = ROOT / ".langgraph_api" / f"{path.stem}.no-ui.json"
    out.parent.mkdir(exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out)  # atomic: servers starting together never read half a file
    return str(out.relative_to(ROOT))


def wait_for_bundle(graphs: dict[str, str], since: float, proc: subprocess.Popen[bytes]) -> None:
    """Wait until the bundler has written each graph's cards after ``since``.

    The server reads ``schemas.json`` once, at the first ``POST /ui/<graph>``, and keeps
    the answer; asked before the bundle exists it would answer 404 until restarted.
    """
    if not graphs:
        return  # a server without cards has nothing to wait for
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return  # the caller reports the exit
        try:
            schemas = json.loads((UI_DIR / "schemas.json").read_text(encoding="utf-8"))
            ready = all(
                graph in schemas
                and (UI_DIR / "public" / graph / "entrypoint.js").stat().st_mtime >= since
                for graph in graphs
            )
        except (OSError, ValueError):
            ready = False
        if ready:
            return
        time.sleep(0.3)
    raise RuntimeError("langgraph dev did not bundle the generative UI within 180 s")


def size_pool_for_jobs(jobs: int, env: dict[str, str]) -> str | None:
    """Give the server's connection pool room for ``jobs`` admitted runs; return a warning.

    Each run holds at most one pooled connection at a time and the routes share the pool,
    so it needs ``jobs + 2`` connections, else runs wait for connections inside their time
    budget. An unset ``ICP_DB_POOL_MAX`` too small for that is raised in ``env``; one set
    explicitly is kept, with the warning returned.
    """
    need = jobs + 2
    if env.get("ICP_DB_POOL_MAX"):
        have = get_settings().db_pool_max
        if have >= need:
            return None
        return (
            f"icp dev: ICP_DB_POOL_MAX={have} is below --jobs {jobs} + 2: chats will wait"
            f" for database connections (set ICP_DB_POOL_MAX={need} or lower --jobs)"
        )
    if get_settings().db_pool_max < need:
        env["ICP_DB_POOL_MAX"] = str(need)
    return None


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
        """Terminate the server (and what it started) and close its log."""
        stop_server_group(self.proc, timeout=20)
        self._fh.close()


def stop_server_group(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Stop a server started in its own session, then whatever it left in that group.

    ``langgraph dev`` runs the cards' bundler as ``npx`` -> ``node`` -> ``esbuild``; it
    stops ``npx`` on shutdown, which does not pass the signal on, so without this every
    server left a bundler running.
    """
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)  # the group keeps the leader's id


def start_server(
    database_url: str,
    extra_env: dict[str, str] | None = None,
    *,
    config: str = "langgraph.json",
    jobs: int = DEFAULT_JOBS,
    ui: bool = False,
) -> DevServer:
    """Start ``langgraph dev`` on a free port and wait until it answers /ok.

    With ``ui`` the config's generative-UI cards are bundled (needs npx) and the server is
    ready once they are; without, the server starts from a copy of the config without them.
    """
    graphs = ui_entries(config) if ui else {}
    config = server_config(config, ui=ui)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TRACING": "false",
        **(extra_env or {}),
    }
    if warning := size_pool_for_jobs(jobs, env):
        print(warning, file=sys.stderr, flush=True)
    log = ROOT / ".data" / f"langgraph-dev-{port}.log"
    log.parent.mkdir(exist_ok=True)
    exe = Path(sys.executable).parent / "langgraph"
    fh = log.open("wb")
    cmd = [
        str(exe), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
        "--port", str(port), "--n-jobs-per-worker", str(jobs), "--config", config,
    ]  # fmt: skip
    started = time.time() - 1  # file times have coarse resolution on some filesystems
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = DevServer(proc, f"http://127.0.0.1:{port}", log, fh)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            server.stop()
            raise RuntimeError(f"langgraph dev exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/ok", timeout=1).status_code == 200:
                try:
                    wait_for_bundle(graphs, started, proc)
                except RuntimeError as exc:
                    server.stop()
                    raise RuntimeError(f"{exc}: {log.read_text()[-3000:]}") from None
                if proc.poll() is not None:
                    continue  # the bundler failed and took the server down
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"langgraph dev did not start: {log.read_text()[-3000:]}")
