"""The page and the API docs load everything from the product's own origin (offline use)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import BrowserContext, ConsoleMessage, Request, expect

from tests.browser.conftest import Served, start_uvicorn


@pytest.fixture
def served(sample_db: str) -> Iterator[Served]:
    yield from start_uvicorn(sample_db)


def _track(page_requests: list[str], errors: list[str]) -> tuple[object, object]:
    def on_request(request: Request) -> None:
        page_requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    return on_request, on_console


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("/icp/docs", "#swagger-ui .opblock-tag"),  # Swagger UI rendered the route groups
        ("/app/", "#leads .empty"),  # the leads list rendered its empty state
    ],
)
async def test_page_loads_nothing_from_other_hosts_and_logs_no_errors(
    served: Served, context: BrowserContext, path: str, ready: str
) -> None:
    requests: list[str] = []
    errors: list[str] = []
    page = await context.new_page()
    on_request, on_console = _track(requests, errors)
    page.on("request", on_request)  # type: ignore[arg-type]
    page.on("console", on_console)  # type: ignore[arg-type]
    await page.goto(served.url + path)
    await expect(page.locator(ready).first).to_be_visible()
    await page.wait_for_load_state("networkidle")
    origin = urlsplit(served.url).netloc
    assert requests, "the page made no requests"
    foreign = [u for u in requests if urlsplit(u).scheme != "data" and urlsplit(u).netloc != origin]
    assert foreign == []
    assert errors == []
