"""/icp/preview (the search box's fast path) and the page's routes, on the real sample."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
from psycopg import sql

from tests.helpers import after_2015, error_lines
from tests.integration.jobs_support import MANUFACTURING_ROWS

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(app_db: str) -> AsyncIterator[httpx.AsyncClient]:
    from api.app import app

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        out = {}
        for name in names:
            row = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))
            ).fetchone()
            out[name] = row[0] if row else -1
        return out


async def test_preview_resolves_counts_and_samples_without_writing(
    client: httpx.AsyncClient, app_db: str
) -> None:
    from nodes.resolve import resolve_terms

    before = table_counts(app_db)
    res = await client.get("/icp/preview", params={"q": "Manufacturing"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["terms"] == ["manufacturing"]
    assert body["total"] == MANUFACTURING_ROWS and 0 < body["live"] <= body["total"]
    async with await psycopg.AsyncConnection.connect(app_db) as conn:
        resolution = await resolve_terms(conn, ["manufacturing"])
    assert [c["code"] for c in body["codes"]] == resolution.code_list
    assert len(body["codes"]) > 100
    assert all(len(c["code"]) == 5 and c["title"] for c in body["codes"])
    assert all(10 <= int(c["code"][:2]) <= 33 for c in body["codes"])
    assert 0 < len(body["sample"]) <= 20
    codes = set(resolution.code_list)
    for row in body["sample"]:
        assert set(row) == {"uen", "name", "industry_code", "is_live"}
        assert row["industry_code"] in codes
    assert body["reasons"][0]["term"] == "manufacturing" and body["reasons"][0]["reason"]
    # Several terms, as the chat would split them.
    two = (await client.get("/icp/preview", params={"q": "bakery and restaurants"})).json()
    assert two["terms"] == ["bakery", "restaurants"] and "10711" in {
        c["code"] for c in two["codes"]
    }
    assert two["total"] > 0
    await client.get("/icp/preview", params={"q": "logistics"})
    assert table_counts(app_db) == before


async def test_preview_transaction_is_read_only(
    client: httpx.AsyncClient,
    app_db: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from typing import Any

    from api import routes_preview

    async def sneaky_write(conn: psycopg.AsyncConnection[Any], codes: list[str]) -> tuple[int, int]:
        await conn.execute("INSERT INTO tenant_settings (tenant_id) VALUES ('sneaky')")
        return (0, 0)

    monkeypatch.setattr(routes_preview, "count_matching", sneaky_write)
    res = await client.get("/icp/preview", params={"q": "bakery"})
    assert table_counts(app_db)["tenant_settings"] == 0
    # A write inside the preview is a bug in our code, not an unavailable database: a 500
    # with an error id that names the one log line (which carries the traceback).
    assert res.status_code == 500, res.text
    body = res.json()
    assert set(body) == {"detail", "error_id"} and "Retry-After" not in res.headers
    assert body["detail"] == f"an internal error occurred (error id {body['error_id']})"
    assert "Traceback" not in res.text and "INSERT" not in res.text
    [line] = error_lines(caplog.records)
    assert (line["kind"], line["error_id"], line["path"]) == (
        "bug",
        body["error_id"],
        "/icp/preview",
    )
    assert line["error"].startswith("ReadOnlySqlTransaction:") and line["request_id"]
    assert "sneaky_write" in line["traceback"]


@pytest.mark.parametrize("q", ["", "   ", "ok", "thanks!", "https://example.com", "hi"])
async def test_chit_chat_is_an_empty_preview(client: httpx.AsyncClient, q: str) -> None:
    res = await client.get("/icp/preview", params={"q": q})
    assert res.status_code == 200, res.text
    assert res.json() == {
        "terms": [],
        "codes": [],
        "total": 0,
        "live": 0,
        "sample": [],
        "reasons": [],
        "set_aside": [],
        "too_broad": [],
        "options": [],
    }
    assert (await client.get("/icp/preview")).status_code == 200


async def test_unknown_term_matches_nothing(client: httpx.AsyncClient) -> None:
    body = (await client.get("/icp/preview", params={"q": "qwxzv plorkish"})).json()
    assert body["terms"] == ["qwxzv plorkish"]
    assert body["codes"] == [] and body["total"] == 0 and body["sample"] == []
    assert body["reasons"][0]["reason"] == "no SSIC title, synonym or index phrase matched"
    assert body["reasons"][0]["unused"] == ["qwxzv plorkish"]


async def test_long_queries_are_400(client: httpx.AsyncClient) -> None:
    assert (await client.get("/icp/preview", params={"q": "bakery " * 71 + "x"})).status_code == 200
    res = await client.get("/icp/preview", params={"q": "x" * 501})
    assert res.status_code == 400
    assert res.json()["detail"].startswith("q: String should have at most 500 characters")
    res = await client.get("/icp/preview", params={"q": ["a", "b"]})
    assert res.status_code == 200  # the last value wins, as FastAPI reads a scalar


async def test_page_routes(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings import reset_settings

    monkeypatch.setenv("CHAT_DEBOUNCE_MS", "250")
    reset_settings()
    res = await client.get("/app")
    assert res.status_code == 308 and res.headers["location"] == "/app/"
    page = await client.get("/app/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<meta name="icp-debounce-ms" content="250">' in page.text
    assert '<meta name="icp-auth" content="off">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text
    for asset, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        res = await client.get(f"/app/{asset}")
        assert res.status_code == 200 and res.headers["content-type"].startswith(kind)
        assert "http://" not in res.text and "https://" not in res.text, asset
    assert '<link rel="icon" href="favicon.svg"' in page.text
    icon = await client.get("/app/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    for path in ("/app/", "/app/app.js", "/app/favicon.svg"):
        head = await client.head(path)
        assert head.status_code == 200 and head.content == b"", path
    for bad in ("/app/nope.js", "/app/..%2Fapp.py", "/app/index.html/x"):
        assert (await client.get(bad)).status_code == 404, bad
    assert (await client.post("/app/")).status_code == 405


async def test_api_docs_are_served_from_local_assets(client: httpx.AsyncClient) -> None:
    docs = await client.get("/icp/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "http://" not in docs.text and "https://" not in docs.text
    assert "/icp/openapi.json" in docs.text
    for asset, kind in (
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("favicon-32x32.png", "image/png"),
    ):
        res = await client.get(f"/icp/docs/assets/{asset}")
        assert res.status_code == 200 and res.headers["content-type"].startswith(kind), asset
        assert len(res.content) > 500, asset
    assert (await client.get("/icp/docs/assets/..%2F..%2F__init__.py")).status_code == 404
    assert (await client.get("/icp/docs/assets/index.html")).status_code == 404


async def test_too_broad_query_offers_the_main_groups(client: httpx.AsyncClient) -> None:
    body = (await client.get("/icp/preview", params={"q": "services"})).json()
    assert body["codes"] == [] and body["total"] == 0 and body["sample"] == []
    assert body["too_broad"] == ["services"]
    offered = {o["code"]: o for o in body["options"]}
    assert {"H", "J", "K", "M", "Q"} <= set(offered)
    assert offered["H"]["title"] == "Transportation and storage" and offered["H"]["count"] > 0


async def test_preview_names_what_it_set_aside(client: httpx.AsyncClient) -> None:
    body = (
        await client.get("/icp/preview", params={"q": "software companies incorporated after 2015"})
    ).json()
    assert body["terms"] == ["software"]
    assert {"62011", "62021"} <= {c["code"] for c in body["codes"]}
    (reason,) = body["reasons"]
    assert reason["how"] == "synonym" and len(reason["groups"]) == 4
    assert after_2015("software") in body["set_aside"]


@pytest.mark.parametrize(
    "phrase",
    ["software companies", "law firms", "trading companies", "M&E contractors", "IT", "餐馆"],
)
async def test_preview_job_route_and_chat_resolve_alike(
    client: httpx.AsyncClient, app_db: str, phrase: str
) -> None:
    from graph.graph import graph

    preview = (await client.get("/icp/preview", params={"q": phrase})).json()
    codes = [c["code"] for c in preview["codes"]]
    assert codes
    out = await graph.ainvoke({"messages": [{"type": "human", "content": phrase}]})
    assert [c["code"] for c in out["codes"]] == codes
    res = await client.post("/jobs/staging_upsert", json={"terms": [phrase]})
    assert res.status_code == 202, res.text
    async with await psycopg.AsyncConnection.connect(app_db) as conn:
        cur = await conn.execute(
            "SELECT params FROM background_jobs WHERE job_id = %s", (res.json()["job_id"],)
        )
        row = await cur.fetchone()
    assert row is not None
    assert sorted(c["code"] for c in row[0]["codes"]) == codes
