"""Browser tests of the product's page: Playwright (async API) driving Debian's Chromium.

The page is served by the real ``langgraph dev`` server (``served_dev``) or by uvicorn
running ``api.app:app`` in a subprocess (``served_uvicorn``, faster to start), each on a
fresh sample database. Screenshots land in ``tests/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

from icp.devserver import ROOT, free_port, start_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = ROOT / "tests" / "screenshots"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``browser`` marker (kept out of pyproject on purpose)."""
    config.addinivalue_line("markers", "browser: drives Debian's Chromium through Playwright")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder (`make test` installs Chromium; no skip without it)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class Served:
    """A running server of the page and the database behind it."""

    url: str
    database_url: str


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    """Start Playwright's driver once for the session."""
    async with async_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    """Launch Debian's Chromium once for the session (no browser download)."""
    browser = await playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    await browser.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """Return a fresh browser context (own storage), 1280x900, en-US, generous timeouts."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    ctx.set_default_timeout(30_000)
    yield ctx
    await ctx.close()


@pytest.fixture
def shot() -> Callable[[str], str]:
    """Return the path of a named screenshot in tests/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return lambda name: str(SCREENSHOTS / f"{name}.png")


def start_dev(database_url: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """Run the real ``langgraph dev`` server (graph + custom app) for one test."""
    srv = start_server(database_url, env)
    try:
        yield Served(srv.url, database_url)
    finally:
        srv.stop()


def start_uvicorn(database_url: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """Run ``api.app:app`` under uvicorn in a subprocess for one test."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = ROOT / ".data" / f"uvicorn-{port}.log"
    log.parent.mkdir(exist_ok=True)
    full_env = {**os.environ, "DATABASE_URL": database_url, **(env or {})}
    cmd = [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning"]  # fmt: skip
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=fh, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"uvicorn exited: {log.read_text()[-3000:]}")
                try:
                    if httpx.get(f"{url}/app/", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not start: {log.read_text()[-3000:]}")
                time.sleep(0.2)
            yield Served(url, database_url)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
