"""Signed download links (config.links) and the auth handler taking one in place of a token."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl

import pytest
from langgraph_sdk import Auth
from starlette.datastructures import QueryParams

from api.auth import authenticate
from config import links
from config.settings import reset_settings

SECRET = "unit-links-secret-0123456789abcdef"
PARAMS = [("search_id", "7"), ("sectors", "60,61"), ("max_score", "84")]


def pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)


def test_a_signed_link_names_its_tenant_and_nothing_else_verifies() -> None:
    query = links.sign(PARAMS, tenant="acme", secret=SECRET, ttl_s=3600)
    assert links.verify(pairs(query), secret=SECRET, ttl_s=3600) == "acme"
    tampered = [
        [(k, "8" if k == "search_id" else v) for k, v in pairs(query)],  # another search
        [(k, "0" if k == "max_score" else v) for k, v in pairs(query)],  # other filters
        [(k, "rival" if k == "tenant" else v) for k, v in pairs(query)],  # another tenant
        [p for p in pairs(query) if p[0] != "sectors"],  # a filter dropped
        [*pairs(query), ("min_score", "0")],  # a filter added
        [(k, str(int(v) + 60) if k == "expires" else v) for k, v in pairs(query)],  # later
    ]
    for bad in tampered:
        with pytest.raises(links.BadLink, match="invalid link signature"):
            links.verify(bad, secret=SECRET, ttl_s=3600)
    with pytest.raises(links.BadLink, match="invalid link signature"):
        links.verify(pairs(query), secret=SECRET + "x", ttl_s=3600)  # another deployment
    with pytest.raises(links.BadLink, match="repeated"):
        links.verify([*pairs(query), ("search_id", "8")], secret=SECRET, ttl_s=3600)


def test_an_expired_or_too_long_link_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    query = links.sign(PARAMS, tenant="acme", secret=SECRET, ttl_s=3600)
    now = time.time()
    monkeypatch.setattr(links.time, "time", lambda: now + 3700)
    with pytest.raises(links.BadLink, match="expired"):
        links.verify(pairs(query), secret=SECRET, ttl_s=3600)
    monkeypatch.setattr(links.time, "time", lambda: now)
    with pytest.raises(links.BadLink, match="too long"):
        links.verify(pairs(query), secret=SECRET, ttl_s=60)  # the deployment's TTL shrank


async def test_the_auth_handler_takes_a_link_only_for_the_export_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ICP_AUTH_JWT_SECRET", SECRET)
    reset_settings()
    try:
        query = links.sign(PARAMS, tenant="acme", secret=SECRET, ttl_s=3600)
        user: Any = await authenticate(
            None, headers={}, method="GET", path=links.EXPORT_PATH, query_params=QueryParams(query)
        )
        assert user["tenant_id"] == "acme" and user["is_authenticated"]
        for path, method in (("/leads", "GET"), ("/threads/search", "POST"), ("/jobs", "GET")):
            with pytest.raises(Auth.exceptions.HTTPException) as exc:
                await authenticate(
                    None, headers={}, method=method, path=path, query_params=QueryParams(query)
                )
            assert exc.value.status_code == 401 and exc.value.detail == "missing bearer token"
        bad = query.replace("search_id=7", "search_id=8")
        with pytest.raises(Auth.exceptions.HTTPException) as exc:
            await authenticate(
                None,
                headers={},
                method="GET",
                path=links.EXPORT_PATH,
                query_params=QueryParams(bad),
            )
        assert exc.value.status_code == 401 and exc.value.detail == "invalid link signature"
    finally:
        monkeypatch.delenv("ICP_AUTH_JWT_SECRET")
        reset_settings()


def test_the_links_address_is_the_requests_or_the_configured_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nodes.follow_up import public_base

    def run(**headers: str) -> Any:
        return {"configurable": headers}

    assert public_base(run(host="127.0.0.1:2024")) == "http://127.0.0.1:2024"
    forwarded = run(**{"host": "10.0.0.5:8000", "x-forwarded-host": "leads.example.com",
                       "x-forwarded-proto": "https"})  # fmt: skip
    assert public_base(forwarded) == "https://leads.example.com"
    assert public_base(run(host="evil.example/phish?x=")) == ""  # not a host: stays relative
    assert public_base(run(host="a.example", **{"x-forwarded-proto": "javascript"})) == ""
    assert public_base(None) == ""  # an in-process run
    monkeypatch.setenv("ICP_PUBLIC_URL", "https://crm.example.com/icp/")
    reset_settings()
    try:
        assert public_base(forwarded) == "https://crm.example.com/icp"
    finally:
        monkeypatch.delenv("ICP_PUBLIC_URL")
        reset_settings()
