"""Custom auth: HS256 bearer tokens with sub and tenant_id; owner-scoped threads; cursors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from langgraph_sdk import Auth

from api.auth import (
    LEEWAY_S,
    authenticate,
    credentials,
    owned_by_user,
    verify_authorization,
)
from api.pagination import CursorError, decode_cursor, encode_cursor

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret-0123456789-0123456789-abcdef"


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from config.settings import reset_settings

    monkeypatch.setenv("ICP_AUTH_JWT_SECRET", SECRET)
    reset_settings()
    yield SECRET
    reset_settings()


def token(claims: dict[str, Any], key: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


async def test_auth_off_runs_everything_as_the_default_tenant() -> None:
    user = await authenticate(None)
    assert user["identity"] == "default" and user.get("tenant_id") == "default"


async def test_valid_token_gives_user_and_tenant(secret: str) -> None:
    good = token({"sub": "alice", "tenant_id": "acme", "exp": int(time.time()) + 60})
    user = await authenticate(f"Bearer {good}")
    assert user["identity"] == "alice" and user.get("tenant_id") == "acme"


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "missing bearer token"),
        ("", "missing bearer token"),
        ("Basic YWxpY2U6cHc=", "expected 'Authorization: Bearer <token>'"),
        ("Bearer ", "expected 'Authorization: Bearer <token>'"),
        ("Bearer not-a-jwt", "invalid token"),
    ],
)
async def test_missing_or_malformed_token_is_401(
    secret: str, header: str | None, detail: str
) -> None:
    with pytest.raises(Auth.exceptions.HTTPException) as err:
        await authenticate(header)
    assert err.value.status_code == 401 and err.value.detail == detail


async def test_expired_forged_and_incomplete_tokens_are_401(secret: str) -> None:
    now = int(time.time())
    soon = now + 600
    cases = {
        "token expired": token({"sub": "a", "tenant_id": "t", "exp": now - LEEWAY_S - 5}),
        "invalid token": token(
            {"sub": "a", "tenant_id": "t", "exp": soon}, key="another-secret-0123456789-abcdefgh"
        ),
        "token has no exp claim": token({"sub": "a", "tenant_id": "t"}),
        "token has no sub claim": token({"tenant_id": "t", "exp": soon}),
        "token has no tenant_id": token({"sub": "a", "exp": soon}),
        "token has an unusable tenant_id": token(
            {"sub": "a", "tenant_id": "t\u0000x", "exp": soon}
        ),
        "token is not valid yet": token(
            {"sub": "a", "tenant_id": "t", "exp": soon, "nbf": now + LEEWAY_S + 60}
        ),
        "token lifetime too long: exp is more than 86400 s ahead": token(
            {"sub": "a", "tenant_id": "t", "exp": now + 86_400 + LEEWAY_S + 60}
        ),
    }
    # alg=none is a forgery too: never accepted.
    cases["invalid token "] = jwt.encode(
        {"sub": "a", "tenant_id": "t", "exp": soon}, None, algorithm="none"
    )
    for detail, bad in cases.items():
        with pytest.raises(Auth.exceptions.HTTPException) as err:
            verify_authorization(f"Bearer {bad}")
        assert (err.value.status_code, err.value.detail) == (401, detail.strip())


async def test_clock_skew_within_the_leeway_is_accepted(secret: str) -> None:
    now = int(time.time())
    # Expired a little (the issuer's clock runs ahead of ours), or not valid for a few
    # seconds yet: both within LEEWAY_S.
    late = token({"sub": "a", "tenant_id": "t", "exp": now - LEEWAY_S // 2})
    early = token({"sub": "a", "tenant_id": "t", "exp": now + 60, "nbf": now + LEEWAY_S // 2})
    assert verify_authorization(f"Bearer {late}")["tenant_id"] == "t"
    assert verify_authorization(f"Bearer {early}")["tenant_id"] == "t"


async def test_audience_and_issuer_are_checked_when_configured(
    secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import reset_settings

    soon = int(time.time()) + 600
    base = {"sub": "a", "tenant_id": "t", "exp": soon}
    # Not configured: a token may carry any aud/iss (or none).
    assert verify_authorization(f"Bearer {token({**base, 'aud': 'x', 'iss': 'y'})}")
    monkeypatch.setenv("ICP_AUTH_JWT_AUDIENCE", "icp")
    monkeypatch.setenv("ICP_AUTH_JWT_ISSUER", "https://idp.example")
    reset_settings()
    good = {**base, "aud": "icp", "iss": "https://idp.example"}
    assert verify_authorization(f"Bearer {token(good)}")["identity"] == "a"
    cases = {
        "token has no aud claim": {k: v for k, v in good.items() if k != "aud"},
        "token has no iss claim": {k: v for k, v in good.items() if k != "iss"},
        "token is for another audience": {**good, "aud": "another-app"},
        "token is from another issuer": {**good, "iss": "https://evil.example"},
    }
    for detail, claims in cases.items():
        with pytest.raises(Auth.exceptions.HTTPException) as err:
            verify_authorization(f"Bearer {token(claims)}")
        assert (err.value.status_code, err.value.detail) == (401, detail)


_SERVER_BACKEND = """
import asyncio, json, sys, time
import jwt
from starlette.authentication import AuthenticationError
from starlette.requests import HTTPConnection
from langgraph_api.auth.custom import get_custom_auth_middleware

async def main():
    backend = get_custom_auth_middleware()
    out = []
    for headers in ([(b"x-auth-scheme", b"langsmith")], []):
        scope = {"type": "http", "method": "GET", "path": "/threads", "query_string": b"",
                 "headers": headers}
        try:
            await backend.authenticate(HTTPConnection(scope))
            out.append("allowed")
        except AuthenticationError as exc:
            out.append(getattr(exc, "status_code", None))
    good = jwt.encode({"sub": "alice", "tenant_id": "acme", "exp": int(time.time()) + 60},
                      sys.argv[1], algorithm="HS256")
    scope["headers"] = [(b"authorization", b"Bearer " + good.encode()),
                        (b"x-auth-scheme", b"langsmith")]
    _creds, user = await backend.authenticate(HTTPConnection(scope))
    out.append([user.identity, user["tenant_id"]])
    # agent-chat-ui's key field arrives as x-api-key.
    scope["headers"] = [(b"x-api-key", good.encode())]
    _creds, user = await backend.authenticate(HTTPConnection(scope))
    out.append([user.identity, user["tenant_id"]])
    print(json.dumps(out))

asyncio.run(main())
"""


def test_server_backend_rejects_langsmith_scheme_without_token() -> None:
    """Load the auth config of langgraph.json into langgraph-api's backend, as the server does."""
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert config["auth"] == {"path": "api.auth:auth", "disable_studio_auth": True}
    assert config["http"]["enable_custom_route_auth"] is True
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ICP_")},
        # langgraph-api's in-memory runtime, as `langgraph dev` configures it.
        "REDIS_URI": "fake",
        "DATABASE_URI": ":memory:",
        "MIGRATIONS_PATH": "__inmem",
        "LANGGRAPH_RUNTIME_EDITION": "inmem",
        "LANGSMITH_LANGGRAPH_API_VARIANT": "local_dev",
        "LANGGRAPH_AUTH": json.dumps(config["auth"]),
        "ICP_AUTH_JWT_SECRET": SECRET,
    }
    res = subprocess.run(
        [sys.executable, "-c", _SERVER_BACKEND, SECRET],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == [
        401,
        401,
        ["alice", "acme"],
        ["alice", "acme"],
    ]


async def test_x_api_key_is_the_token_when_no_authorization_header_comes(secret: str) -> None:
    good = token({"sub": "alice", "tenant_id": "acme", "exp": int(time.time()) + 60})
    other = token({"sub": "bob", "tenant_id": "globex", "exp": int(time.time()) + 60})
    assert credentials(None, good) == f"Bearer {good}"
    assert credentials("", f" Bearer {good} ") == f"Bearer {good}"
    assert credentials(f"Bearer {other}", good) == f"Bearer {other}"  # the header wins
    assert credentials(None, "  ") is None
    user = await authenticate(None, {b"x-api-key": good.encode()})
    assert user["identity"] == "alice" and user.get("tenant_id") == "acme"
    with pytest.raises(Auth.exceptions.HTTPException) as err:
        await authenticate(None, {b"x-api-key": b"lsv2_pt_not-a-jwt"})
    assert err.value.status_code == 401 and err.value.detail == "invalid token"


async def test_threads_are_tagged_with_and_filtered_by_their_owner() -> None:
    class User(dict[str, str]):  # like langgraph-api's ProxyUser: attributes and items
        identity = "alice"
        is_authenticated = True

    user = User(identity="alice", tenant_id="acme")
    ctx = Auth.types.AuthContext(
        user=user,
        permissions=[],
        resource="threads",
        action="create",  # type: ignore[arg-type]
    )
    value: dict[str, Any] = {"metadata": {"topic": "x"}}
    filters = await owned_by_user(ctx, value)
    assert filters == {"owner": "alice", "tenant_id": "acme"}
    assert value["metadata"] == {"topic": "x", "owner": "alice", "tenant_id": "acme"}


def test_cursor_round_trip_and_tampering() -> None:
    cur = encode_cursor("jobs", {"before": 42})
    assert decode_cursor(cur, "jobs", {"before": int}) == {"before": 42}
    body, _, mac = cur.partition(".")
    forged = encode_cursor("jobs", {"before": 7}).partition(".")[0] + "." + mac
    for bad in (forged, cur + "x", "garbage", "", body, cur.replace(".", "")):
        with pytest.raises(CursorError):
            decode_cursor(bad, "jobs", {"before": int})
    with pytest.raises(CursorError):
        decode_cursor(encode_cursor("leads", {"before": 42}), "jobs", {"before": int})
    with pytest.raises(CursorError):
        decode_cursor(encode_cursor("jobs", {"before": "42"}), "jobs", {"before": int})
