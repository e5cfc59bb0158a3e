"""Auth on the real server: tokens required everywhere except the page's static files."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from icp.devserver import start_server

pytestmark = pytest.mark.acceptance
SECRET = "acceptance-secret-0123456789abcdef"


def token(tenant: str, sub: str = "alice") -> str:
    claims = {"sub": sub, "tenant_id": tenant, "exp": int(time.time()) + 600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.fixture
def secured(sample_db: str) -> Iterator[str]:
    srv = start_server(sample_db, {"ICP_AUTH_JWT_SECRET": SECRET})
    try:
        yield srv.url
    finally:
        srv.stop()


async def test_tokens_required_and_tenants_isolated(secured: str) -> None:
    async with httpx.AsyncClient(base_url=secured, timeout=30) as http:
        # The page loads without a token; it asks for one itself.
        page = await http.get("/app/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        # Data needs a token, on the custom routes and on the server's own API.
        assert (await http.get("/leads")).status_code == 401
        assert (await http.post("/threads/search", json={})).status_code == 401
        assert (
            await http.post("/threads/search", json={}, headers={"x-auth-scheme": "langsmith"})
        ).status_code == 401
        forged = jwt.encode(
            {"sub": "x", "tenant_id": "a"},
            "wrong-secret-wrong-secret-wrong-secret",
            algorithm="HS256",
        )
        bad = {"Authorization": f"Bearer {forged}"}
        assert (await http.get("/jobs", headers=bad)).status_code == 401

        a = {"Authorization": f"Bearer {token('tenant-a')}"}
        b = {"Authorization": f"Bearer {token('tenant-b', 'bob')}"}
        created = await http.post("/jobs/staging_upsert", json={"terms": ["bakery"]}, headers=a)
        assert created.status_code == 202, created.text
        job_id = created.json()["job_id"]
        assert (await http.get(f"/jobs/{job_id}", headers=a)).status_code == 200
        assert (await http.get(f"/jobs/{job_id}", headers=b)).status_code == 404
