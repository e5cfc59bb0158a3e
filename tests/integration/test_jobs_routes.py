"""/jobs routes through the real app (httpx ASGITransport) on a real sample database."""

from __future__ import annotations

import time

import httpx
import jwt
import psycopg
import pytest

from db.companies import IcpCode
from jobs.runner import drain
from tests.helpers import AUTH_SECRET as SECRET
from tests.integration.jobs_support import MANUFACTURING_ROWS, enqueue, manufacturing_codes


def bearer(tenant: str, sub: str = "user", key: str = SECRET, ttl: int = 600) -> dict[str, str]:
    tok = jwt.encode(
        {"sub": sub, "tenant_id": tenant, "exp": int(time.time()) + ttl}, key, algorithm="HS256"
    )
    return {"Authorization": f"Bearer {tok}"}


async def test_enqueue_is_idempotent_and_progress_is_readable(
    client: httpx.AsyncClient, app_db: str
) -> None:
    res = await client.post("/jobs/staging_upsert", json={"terms": ["Manufacturing"]})
    assert res.status_code == 202, res.text
    body = res.json()
    assert body["status"] == "queued" and body["total"] == MANUFACTURING_ROWS and body["created"]
    again = await client.post("/jobs/staging_upsert", json={"terms": [" manufacturing "]})
    assert again.status_code == 202
    assert again.json()["job_id"] == body["job_id"] and not again.json()["created"]

    shown = (await client.get(f"/jobs/{body['job_id']}")).json()
    assert {k: shown[k] for k in ("job_id", "job_type", "status", "processed", "total")} == {
        "job_id": body["job_id"],
        "job_type": "staging_upsert",
        "status": "queued",
        "processed": 0,
        "total": MANUFACTURING_ROWS,
    }
    assert set(shown) >= {"error", "created_at", "started_at", "ended_at"}
    assert [r.status for r in await drain()] == ["done"]
    done = (await client.get(f"/jobs/{body['job_id']}")).json()
    assert (done["status"], done["processed"], done["total"]) == (
        "done",
        MANUFACTURING_ROWS,
        MANUFACTURING_ROWS,
    )
    assert done["ended_at"] is not None and done["error"] is None


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "terms: Field required"),
        ({"terms": []}, "terms: List should have at least 1 item"),
        ({"terms": [42]}, "terms.0: Input should be a valid string"),
        ({"terms": ["  "]}, "terms.0: String should have at least 1 character"),
        ({"terms": ["x"] * 11}, "terms: List should have at most 10 items"),
        ({"terms": ["y" * 61]}, "terms.0: String should have at most 60 characters"),
        ({"terms": "Manufacturing"}, "terms: Input should be a valid list"),
        ({"terms": ["qwxzv plorkish"]}, "matched no SSIC 2020 industry"),
        ({"terms": ["services"]}, "'services' is too broad to search"),
        ({"terms": ["companies", "ok"]}, "Transportation and storage (H)"),
    ],
)
async def test_bad_enqueue_input_is_400_with_a_clear_message(
    client: httpx.AsyncClient, body: object, fragment: str
) -> None:
    res = await client.post("/jobs/staging_upsert", json=body)
    assert res.status_code == 400, res.text
    assert fragment in res.json()["detail"]


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    res = await client.post(
        "/jobs/staging_upsert", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert res.status_code == 400 and res.json()["detail"]


async def test_unknown_and_non_integer_ids_are_404(client: httpx.AsyncClient) -> None:
    for path in ("/jobs/999", "/jobs/abc", "/jobs/-1", "/jobs/99999999999999999999", "/jobs/1.5"):
        res = await client.get(path)
        assert res.status_code == 404, (path, res.text)
    assert (await client.post("/jobs/abc/cancel")).status_code == 404


async def test_list_is_keyset_paged_with_a_validated_cursor(
    client: httpx.AsyncClient, app_db: str
) -> None:
    codes = manufacturing_codes(app_db)
    ids = [await enqueue(app_db, codes[i : i + 3], terms=(f"t{i}",)) for i in range(0, 15, 3)]
    await enqueue(app_db, codes[:3], tenant="other", terms=("other",))
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/jobs", params=params)).json()
        seen += [j["job_id"] for j in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    first = (await client.get("/jobs", params={"limit": 2})).json()
    bad = first["next_cursor"][:-2] + ("AA" if not first["next_cursor"].endswith("AA") else "BB")
    for cur in (bad, "bm90LWEtY3Vyc29y", "x" * 40):
        res = await client.get("/jobs", params={"cursor": cur})
        assert res.status_code == 400 and res.json()["detail"].startswith("cursor: invalid")
    for params in ({"limit": 0}, {"limit": 201}, {"status": "bogus"}):
        assert (await client.get("/jobs", params=params)).status_code == 400
    assert len((await client.get("/jobs", params={"limit": 200})).json()["data"]) == 5
    with psycopg.connect(app_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE background_jobs SET status = 'done', ended_at = now() WHERE job_id = %s",
            (ids[1],),
        )
    done = (await client.get("/jobs", params={"status": "done"})).json()
    assert [j["job_id"] for j in done["data"]] == [ids[1]] and done["next_cursor"] is None


async def test_cancel_queued_then_409(client: httpx.AsyncClient, app_db: str) -> None:
    job_id = await enqueue(app_db, manufacturing_codes(app_db))
    res = await client.post(f"/jobs/{job_id}/cancel")
    assert res.status_code == 200 and res.json()["status"] == "cancelled"
    again = await client.post(f"/jobs/{job_id}/cancel")
    assert again.status_code == 409 and "already ended cancelled" in again.json()["detail"]


async def test_run_now_releases_a_queued_job_to_the_live_runners(
    client: httpx.AsyncClient, app_db: str, auth_on: None
) -> None:
    res = await client.post(
        "/jobs/staging_upsert", json={"terms": ["bakery"]}, headers=bearer("tenant-a")
    )
    body = res.json()
    assert res.status_code == 202 and body["created"]
    # In-process (no server lifespan): nothing runs queued jobs, and the route says so.
    assert (body["start"], body["runs_at"]) == ("no_runner", None)
    assert "no server and no `icp jobs run`" in body["when"]
    job_id = body["job_id"]
    with psycopg.connect(app_db, autocommit=True) as conn:  # a nightly server is alive
        conn.execute(
            "INSERT INTO job_runners (runner_id, kind, claims, cron, cron_tz)"
            " VALUES ('srv', 'server', 'released', '0 2 * * *', 'Asia/Singapore')"
        )
    shown = (await client.get(f"/jobs/{job_id}", headers=bearer("tenant-a"))).json()
    assert shown["start"] == "scheduled" and shown["runs_at"] and shown["eta_seconds"] is None
    assert shown["when"].startswith("runs at the next scheduled run, 02:00 ")

    # Another tenant cannot run it; its owner can, and then the live worker takes it now.
    other = await client.post(f"/jobs/{job_id}/run", headers=bearer("tenant-b"))
    assert other.status_code == 404
    run = await client.post(f"/jobs/{job_id}/run", headers=bearer("tenant-a"))
    assert run.status_code == 202, run.text
    assert (run.json()["status"], run.json()["start"], run.json()["when"]) == (
        "queued",
        "now",
        "starts now",
    )
    assert [r.status for r in await drain(claim_all=False)] == ["done"]  # a nightly worker
    again = await client.post(f"/jobs/{job_id}/run", headers=bearer("tenant-a"))
    assert again.status_code == 409 and "already ended done" in again.json()["detail"]
    listed = (await client.get("/jobs", headers=bearer("tenant-a"))).json()["data"]
    assert [(j["start"], j["runs"], j["attempts"]) for j in listed] == [("finished", 1, 0)]
    assert (await client.post("/jobs/abc/run", headers=bearer("tenant-a"))).status_code == 404


async def test_tenants_only_see_their_own_jobs(
    client: httpx.AsyncClient, app_db: str, auth_on: None
) -> None:
    res = await client.post(
        "/jobs/staging_upsert", json={"terms": ["bakery"]}, headers=bearer("tenant-a", "alice")
    )
    assert res.status_code == 202, res.text
    job_id = res.json()["job_id"]
    assert (await client.get(f"/jobs/{job_id}", headers=bearer("tenant-a"))).status_code == 200
    assert (await client.get(f"/jobs/{job_id}", headers=bearer("tenant-b"))).status_code == 404
    cancel_b = await client.post(f"/jobs/{job_id}/cancel", headers=bearer("tenant-b"))
    assert cancel_b.status_code == 404
    assert (await client.get("/jobs", headers=bearer("tenant-b"))).json()["data"] == []
    listed = (await client.get("/jobs", headers=bearer("tenant-a"))).json()["data"]
    assert [j["job_id"] for j in listed] == [job_id]
    # The same terms from tenant B are B's own job, not A's.
    other = await client.post(
        "/jobs/staging_upsert", json={"terms": ["bakery"]}, headers=bearer("tenant-b")
    )
    assert other.status_code == 202 and other.json()["job_id"] != job_id
    with psycopg.connect(app_db) as conn:
        tenants = conn.execute("SELECT tenant_id FROM background_jobs ORDER BY job_id").fetchall()
    assert tenants == [("tenant-a",), ("tenant-b",)]


async def test_requests_without_a_valid_token_are_401_when_auth_is_on(
    client: httpx.AsyncClient, auth_on: None
) -> None:
    expired = bearer("tenant-a", ttl=-30)
    forged = bearer("tenant-a", key="not-the-secret-not-the-secret-0123")
    for headers in (
        {},
        expired,
        forged,
        {"x-auth-scheme": "langsmith"},
        {"Authorization": "Bearer garbage"},
    ):
        for method, path in (
            ("GET", "/jobs"),
            ("GET", "/jobs/1"),
            ("POST", "/jobs/staging_upsert"),
            ("POST", "/jobs/1/cancel"),
            ("POST", "/jobs/1/run"),
        ):
            res = await client.request(
                method,
                path,
                headers=headers,
                json={"terms": ["bakery"]} if method == "POST" else None,
            )
            assert res.status_code == 401, (method, path, headers, res.text)
            assert res.headers.get("www-authenticate") == "Bearer"


async def test_metrics_expose_rows_batches_jobs_and_chat_latency(
    client: httpx.AsyncClient, app_db: str
) -> None:
    from api.metrics import observe_chat_reply

    await enqueue(app_db, manufacturing_codes(app_db))
    await drain()
    observe_chat_reply(0.42)
    res = await client.get("/icp/metrics")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain")
    text = res.text
    for name in (
        'icp_job_rows_processed_total{job_type="staging_upsert"}',
        "icp_job_batch_duration_seconds_bucket",
        'icp_jobs_finished_total{job_type="staging_upsert",status="done"}',
        "icp_chat_time_to_reply_seconds_count",
    ):
        assert name in text, name


async def test_openapi_documents_the_job_models(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/icp/openapi.json")).json()
    assert {"JobPublic", "JobsPage", "JobEnqueued"} <= set(spec["components"]["schemas"])
    post = spec["paths"]["/jobs/staging_upsert"]["post"]
    assert "202" in post["responses"] and "400" in post["responses"]


async def test_jobs_cursor_is_bound_to_tenant_and_filter(
    client: httpx.AsyncClient, app_db: str, auth_on: None
) -> None:
    for code in ("10711", "10712", "10719"):
        await enqueue(app_db, [IcpCode(code, 1.0, "bakery")], tenant="a")
    first = await client.get("/jobs", params={"limit": 1}, headers=bearer("a"))
    cursor = first.json()["next_cursor"]
    assert cursor
    assert (
        await client.get("/jobs", params={"cursor": cursor}, headers=bearer("a"))
    ).status_code == 200
    foreign = await client.get("/jobs", params={"cursor": cursor}, headers=bearer("b"))
    assert foreign.status_code == 400 and "cursor" in foreign.json()["detail"]
    other_filter = await client.get(
        "/jobs", params={"cursor": cursor, "status": "done"}, headers=bearer("a")
    )
    assert other_filter.status_code == 400
