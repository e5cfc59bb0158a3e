"""Opaque keyset cursors and the one page helper every list uses (/jobs, /leads, /companies).

A cursor is ``base64url(JSON {"v": 1, "k": kind, "p": position}) + "." + base64url(MAC)``.
The MAC also covers a *scope* that the payload does not carry: the caller's tenant and the
list's filters. The server checks the version, the list it belongs to, the position's field
types and the MAC, so a tampered cursor, one from another list, another tenant or other
filters is a clear 400 instead of a wrong page (and reveals nothing about the other list).

A page fetches ``limit + 1`` rows in the list's unique key order; the extra row only says
that there is a next page, whose cursor is the key of the page's last row. No OFFSET and
no COUNT(*): the cost of a page does not grow with its depth.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from config.settings import get_settings

VERSION = 1
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_CHARS = 512

R = TypeVar("R")


class CursorError(ValueError):
    """A cursor that this server did not issue for this list (or that was altered)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: bytes, scope: str) -> bytes:
    key = hashlib.sha256(b"icp-cursor:" + (get_settings().auth_jwt_secret or "").encode()).digest()
    return hmac.new(key, scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:12]


def encode_cursor(kind: str, position: Mapping[str, int | str], *, scope: str = "") -> str:
    """Return the opaque cursor for the keyset ``position`` of list ``kind`` in ``scope``."""
    payload = json.dumps(
        {"v": VERSION, "k": kind, "p": dict(position)}, separators=(",", ":"), sort_keys=True
    ).encode()
    return f"{_b64(payload)}.{_b64(_mac(payload, scope))}"


def decode_cursor(
    token: str, kind: str, fields: Mapping[str, type], *, scope: str = ""
) -> dict[str, Any]:
    """Return the position of a cursor of list ``kind``; raise CursorError if invalid."""
    try:
        body, dot, mac = token.partition(".")
        if not dot or len(token) > MAX_CURSOR_CHARS:
            raise CursorError("invalid cursor")
        payload = _unb64(body)
        if not hmac.compare_digest(_unb64(mac), _mac(payload, scope)):
            raise CursorError(
                "invalid cursor (altered, or issued for another list, tenant or filter)"
            )
        doc = json.loads(payload)
    except CursorError:
        raise
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("invalid cursor") from None
    if not isinstance(doc, dict) or doc.get("v") != VERSION or doc.get("k") != kind:
        raise CursorError("invalid cursor (from another list or an older version)")
    position = doc.get("p")
    if not isinstance(position, dict) or set(position) != set(fields):
        raise CursorError("invalid cursor")
    for name, typ in fields.items():
        if type(position[name]) is not typ:
            raise CursorError("invalid cursor")
    return position


def scope_of(tenant: str, **filters: object) -> str:
    """Return the scope a cursor is bound to: the tenant and the list's filters."""
    return json.dumps([tenant, filters], sort_keys=True, default=str, separators=(",", ":"))


@dataclass(frozen=True)
class Keyset:
    """A list ordered by a unique key tuple, paged by opaque cursors.

    ``fields`` names the key's columns (in order) and their JSON types; ``start`` is the
    position before the first row (e.g. a score above the maximum), so one SQL statement
    with a row comparison serves every page.
    """

    kind: str
    fields: Mapping[str, type]
    start: Mapping[str, int | str]

    def after(self, cursor: str | None, scope: str) -> dict[str, Any]:
        """Return the position to continue after (``start`` without a cursor)."""
        if not cursor:
            return dict(self.start)
        return decode_cursor(cursor, self.kind, self.fields, scope=scope)

    def after_or_400(self, cursor: str | None, scope: str) -> dict[str, Any]:
        """Return :meth:`after`, turning an invalid cursor into a 400 for the routes."""
        from fastapi import HTTPException

        try:
            return self.after(cursor, scope)
        except CursorError as exc:
            raise HTTPException(400, f"cursor: {exc}") from None

    def page(
        self,
        rows: Sequence[R],
        limit: int,
        scope: str,
        key: Callable[[R], Mapping[str, int | str]] | None = None,
    ) -> tuple[list[R], str | None]:
        """Cut ``limit + 1`` fetched rows to a page and the cursor of the next one."""
        page = list(rows[:limit])
        if len(rows) <= limit or not page:
            return page, None
        last = page[-1]
        position = key(last) if key else {f: _get(last, f) for f in self.fields}
        return page, encode_cursor(self.kind, position, scope=scope)


def _get(row: Any, name: str) -> int | str:
    value = row[name] if isinstance(row, Mapping) else getattr(row, name)
    if not isinstance(value, int | str):
        raise TypeError(f"keyset field {name!r} must be int or str, got {type(value).__name__}")
    return value
