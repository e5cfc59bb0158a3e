"""Opaque keyset cursors for paged lists (``/jobs`` now, ``/leads`` later).

A cursor is ``base64url(JSON {"v": 1, "k": kind, "p": position}) + "." + base64url(MAC)``.
The server checks the version, the list it belongs to, the position's field types and
the MAC, so a tampered or foreign cursor is a clear 400 instead of a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from icp.settings import get_settings

VERSION = 1


class CursorError(ValueError):
    """A cursor that this server did not issue for this list (or that was altered)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: bytes) -> bytes:
    key = hashlib.sha256(b"icp-cursor:" + (get_settings().auth_jwt_secret or "").encode()).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:12]


def encode_cursor(kind: str, position: Mapping[str, int | str]) -> str:
    """Return the opaque cursor for the keyset ``position`` of list ``kind``."""
    payload = json.dumps(
        {"v": VERSION, "k": kind, "p": dict(position)}, separators=(",", ":"), sort_keys=True
    ).encode()
    return f"{_b64(payload)}.{_b64(_mac(payload))}"


def decode_cursor(token: str, kind: str, fields: Mapping[str, type]) -> dict[str, Any]:
    """Return the position of a cursor of list ``kind``; raise CursorError if invalid."""
    try:
        body, _, mac = token.partition(".")
        payload = _unb64(body)
        if not hmac.compare_digest(_unb64(mac), _mac(payload)):
            raise CursorError("invalid cursor")
        doc = json.loads(payload)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("invalid cursor") from None
    if not isinstance(doc, dict) or doc.get("v") != VERSION or doc.get("k") != kind:
        raise CursorError("invalid cursor (from another list or an older version)")
    position = doc.get("p")
    if not isinstance(position, dict) or set(position) != set(fields):
        raise CursorError("invalid cursor")
    for name, typ in fields.items():
        value = position[name]
        if type(value) is not typ:
            raise CursorError("invalid cursor")
    return position
