"""Signed download links: a chat reply's "export these" link that works when clicked.

With auth on, every API request needs the user's token in a header, which a clicked link
cannot carry. The chat therefore signs the export link it gives: the link's query names
the tenant and an expiry (``ICP_AUTH_JWT_MAX_TTL_S`` ahead, as a token would), and
``sig`` is an HMAC-SHA256 of every other parameter, keyed by a key derived from
``ICP_AUTH_JWT_SECRET`` (so a link is never a token, and a token never a link). The
server's auth handler (``api.auth.authenticate``) takes a valid signature in place of a
token on ``GET /leads/export.csv`` only: changing any parameter (another search, other
filters, another tenant, a later expiry) breaks the signature, so a link downloads
exactly the file it was made for, until it expires. With auth off links are not signed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable
from urllib.parse import urlencode

EXPORT_PATH = "/leads/export.csv"
SIGNED = ("tenant", "expires", "sig")
"""The parameters a signed link adds to the route's own."""


class BadLink(ValueError):
    """The link's signature, expiry or tenant does not hold (the message says which)."""


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"icp export link v1", hashlib.sha256).digest()


def _canonical(params: Iterable[tuple[str, str]]) -> bytes:
    return urlencode(sorted((k, v) for k, v in params if k != "sig")).encode()


def sign(params: list[tuple[str, str]], *, tenant: str, secret: str, ttl_s: int) -> str:
    """Return the query string of ``params`` signed for ``tenant``, valid ``ttl_s``."""
    signed = [*params, ("tenant", tenant), ("expires", str(int(time.time()) + ttl_s))]
    sig = hmac.new(_key(secret), _canonical(signed), hashlib.sha256).hexdigest()
    return urlencode([*signed, ("sig", sig)])


def verify(params: list[tuple[str, str]], *, secret: str, ttl_s: int, leeway_s: int = 30) -> str:
    """Return the tenant a signed query string was made for; raise BadLink."""
    given = dict(params)
    if len(given) != len(params):
        raise BadLink("a parameter is repeated")
    sig = given.get("sig", "")
    expected = hmac.new(_key(secret), _canonical(params), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sig.encode(), expected.encode()):
        raise BadLink("invalid link signature")
    try:
        expires = int(given.get("expires", ""))
    except ValueError:
        raise BadLink("link has no expiry") from None
    now = time.time()
    if expires < now - leeway_s:
        raise BadLink("link expired: ask the chat to export again")
    if expires > now + ttl_s + leeway_s:
        raise BadLink("link lifetime too long")
    tenant = given.get("tenant", "")
    if not tenant:
        raise BadLink("link has no tenant")
    return tenant
