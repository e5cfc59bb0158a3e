"""The generative-UI answer names its bundle absolutely, so another origin can load it."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.genui import AbsoluteUiAssets, absolute_asset_urls, origin

# What langgraph-api's POST /ui/<graph> answers (langgraph_api/api/ui.py).
UI_HTML = (
    '<link rel="stylesheet" href="/ui/icp_search/entrypoint.css" />\n'
    '<script src="/ui/icp_search/entrypoint.js" '
    "onload='__LGUI_icp_search.render(&quot;leads&quot;, \"{{shadowRootId}}\")'></script>"
)


async def ui(request: Request) -> Response:
    return Response(UI_HTML, media_type="text/html")


async def other(request: Request) -> Response:
    return JSONResponse({"src": '="/ui/x"'})


app = AbsoluteUiAssets(
    Starlette(
        routes=[
            Route("/ui/{graph}", ui, methods=["POST"]),
            Route("/threads/search", other, methods=["POST"]),
            Route("/ui/{graph}/entrypoint.js", ui, methods=["GET"]),
        ]
    )
)


async def call(method: str, path: str, **kw: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:2114") as c:
        return await c.request(method, path, **kw)


async def test_post_ui_answer_names_the_bundle_by_the_servers_own_url() -> None:
    res = await call("POST", "/ui/icp_search", json={"name": "leads"})
    assert res.status_code == 200
    assert 'src="http://127.0.0.1:2114/ui/icp_search/entrypoint.js"' in res.text
    assert 'href="http://127.0.0.1:2114/ui/icp_search/entrypoint.css"' in res.text
    assert "__LGUI_icp_search.render(" in res.text
    assert int(res.headers["content-length"]) == len(res.content)


async def test_everything_else_passes_untouched() -> None:
    assert (await call("POST", "/threads/search")).json() == {"src": '="/ui/x"'}
    bundle = await call("GET", "/ui/icp_search/entrypoint.js")
    assert bundle.text == UI_HTML


def test_origin_takes_only_a_well_formed_host() -> None:
    def scope(host: bytes, scheme: str = "http", root: str = "") -> dict[str, Any]:
        return {"headers": [(b"host", host)], "scheme": scheme, "root_path": root}

    assert origin(scope(b"127.0.0.1:2114")) == b"http://127.0.0.1:2114"
    assert origin(scope(b"icp.example.com", "https", "/api/")) == b"https://icp.example.com/api"
    assert origin(scope(b"[::1]:2114")) == b"http://[::1]:2114"
    assert origin(scope(b'evil.com"><script>')) is None
    assert origin(scope(b"")) is None
    assert absolute_asset_urls(b'<script src="/ui/a/b.js">', b"http://h") == (
        b'<script src="http://h/ui/a/b.js">'
    )
