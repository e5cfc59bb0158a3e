"""Make the server's generative-UI answer usable from another origin (agent-chat-ui).

``POST /ui/<graph>`` (langgraph-api's, not ours) answers with the HTML agent-chat-ui's
``LoadExternalComponent`` puts into a shadow root: ``<script src="/ui/<graph>/entrypoint.js"
onload=...>``. The path is relative, so the browser resolves it against the page's origin
(agent-chat-ui on :3000), not the server's, and the cards never load. This middleware,
added to the custom app (which the LangGraph server runs outermost, around its own
routes), rewrites that one response so the bundle is named by the server's own absolute
URL. Every other request passes through untouched.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_UI_POST = re.compile(r"/ui/[^/]+/?")
_HOST = re.compile(rb"[A-Za-z0-9.\-]+(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")


def origin(scope: Scope) -> bytes | None:
    """Return ``scheme://host[:port]`` as the client addressed this server, or None."""
    host: bytes = dict(scope.get("headers") or []).get(b"host", b"")
    if not _HOST.fullmatch(host):
        return None
    scheme = b"https" if scope.get("scheme") == "https" else b"http"
    root = str(scope.get("root_path") or "").rstrip("/").encode("latin-1")
    return scheme + b"://" + host + root


def absolute_asset_urls(html: bytes, base: bytes) -> bytes:
    """Return the UI HTML with its ``/ui/...`` asset paths prefixed by ``base``."""
    return html.replace(b'src="/ui/', b'src="' + base + b"/ui/").replace(
        b'href="/ui/', b'href="' + base + b"/ui/"
    )


class AbsoluteUiAssets:
    """ASGI middleware: absolute bundle URLs in the answers of ``POST /ui/<graph>``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass every request through; buffer and rewrite only a POST /ui/<graph> answer."""
        base = None
        if scope["type"] == "http" and scope["method"] == "POST":
            if _UI_POST.fullmatch(scope["path"]):
                base = origin(scope)
        if base is None:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body = bytearray()

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            html = bytes(body)
            if start.get("status") == 200:
                html = absolute_asset_urls(html, base)
            kept = start.get("headers", [])
            headers = [(k, v) for k, v in kept if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(html)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": html, "more_body": False})

        await self.app(scope, receive, rewrite)
