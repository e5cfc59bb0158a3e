"""/leads and /companies through the real app on real PostgreSQL: keyset pages, filters,
cursor validation, tenant isolation and the plans that keep deep pages fast."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import psycopg
import pytest

from tests.helpers import AUTH_SECRET as SECRET

pytestmark = pytest.mark.integration

CODES = ["10711", "10712", "47111", "56111", "62011"]


def bearer(tenant: str) -> dict[str, str]:
    tok = jwt.encode(
        {"sub": "u", "tenant_id": tenant, "exp": int(time.time()) + 600}, SECRET, algorithm="HS256"
    )
    return {"Authorization": f"Bearer {tok}"}


def seed(url: str, n: int, *, tenant: str = "default", start: int = 1, scores: int = 5) -> None:
    """Insert n companies and their scores: only ``scores`` distinct scores, so many ties."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """
            WITH c AS (
                INSERT INTO companies (uen, name, industry_code, industry_norm, incorporation_year)
                SELECT 'T' || lpad(i::text, 9, '0'), 'Company ' || i,
                       (%(codes)s::text[])[1 + i %% 5], 'Industry ' || (i %% 5), 1990 + i %% 30
                FROM generate_series(%(start)s::int, %(end)s::int) AS i
                ON CONFLICT (uen) DO UPDATE SET name = EXCLUDED.name
                RETURNING company_id, uen
            )
            INSERT INTO lead_scores (tenant_id, search_id, company_id, score, bucket, is_live,
                                     rationale)
            SELECT %(tenant)s, %(search_id)s, c.company_id, s.score,
                   icp_lead_bucket(s.score),
                   true, 'seeded'
            FROM c, LATERAL (SELECT 30 + 15 * (substr(c.uen, 2)::int %% %(scores)s) AS score) s
            """,
            {"codes": CODES, "start": start, "end": start + n - 1, "tenant": tenant,
             "scores": scores, "search_id": search_of(conn, tenant)},
        )  # fmt: skip


def search_of(conn: psycopg.Connection, tenant: str, codes: list[str] = CODES) -> int:
    """Return the tenant's saved search for ``codes`` (created on first use)."""
    row = conn.execute(
        "INSERT INTO icp_searches (tenant_id, terms, codes, codes_key)"
        " VALUES (%s, '{seeded}', %s, md5(array_to_string(%s::text[], ',')))"
        " ON CONFLICT (tenant_id, codes_key) DO UPDATE SET used_at = now()"
        " RETURNING search_id",
        (tenant, codes, codes),
    ).fetchone()
    assert row is not None
    return int(row[0])


def expected(url: str, tenant: str = "default", where: str = "true") -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT ls.company_id FROM lead_scores ls JOIN companies c USING (company_id)"
            f" WHERE ls.tenant_id = %s AND ls.is_live AND {where}"
            " ORDER BY ls.score DESC, ls.company_id DESC, ls.search_id DESC",
            (tenant,),
        ).fetchall()
    return [r[0] for r in rows]


async def walk(
    client: httpx.AsyncClient,
    path: str,
    params: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10_000):
        res = await client.get(path, params={**params, **({"cursor": cursor} if cursor else {})},
                               headers=headers)  # fmt: skip
        assert res.status_code == 200, res.text
        body = res.json()
        assert set(body) == {"data", "next_cursor"}
        out += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return out
    raise AssertionError("no end")


async def test_leads_walk_every_row_once_in_order_despite_ties(
    client: httpx.AsyncClient, app_db: str
) -> None:
    seed(app_db, 503, scores=3)
    got = await walk(client, "/leads", {"limit": 7})
    assert [r["company_id"] for r in got] == expected(app_db)
    assert len(got) == 503
    first = got[0]
    assert set(first) == {
        "company_id", "search_id", "uen", "name", "industry_code", "industry_norm",
        "incorporation_year", "score", "bucket", "rationale", "status", "is_live", "address",
    }  # fmt: skip
    assert first["score"] == 60 and first["bucket"] == "low" and first["rationale"] == "seeded"
    # A page that ends exactly at the last row says so.
    exact = (await client.get("/leads", params={"limit": 200})).json()
    assert len(exact["data"]) == 200 and exact["next_cursor"]
    assert (await client.get("/leads")).json()["data"] == got[:50]


async def test_leads_rows_existing_throughout_are_seen_once_despite_writes(
    client: httpx.AsyncClient, app_db: str
) -> None:
    seed(app_db, 400, scores=4)
    before = set(expected(app_db))
    seen: list[int] = []
    deleted: set[int] = set()
    cursor = None
    step = 0
    while True:
        params: dict[str, Any] = {"limit": 25}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get("/leads", params=params)).json()
        seen += [r["company_id"] for r in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        step += 1
        # Between pages: new leads land at every score (ahead of and behind the cursor),
        # and some seen and unseen leads go away.
        seed(app_db, 9, start=10_000 + 9 * step, scores=4)
        with psycopg.connect(app_db, autocommit=True) as conn:
            gone = conn.execute(
                "DELETE FROM lead_scores WHERE company_id IN (SELECT company_id FROM lead_scores"
                " WHERE tenant_id = 'default' ORDER BY md5(company_id::text || %s) LIMIT 3)"
                " RETURNING company_id",
                (str(step),),
            ).fetchall()
        deleted |= {r[0] for r in gone}
    assert len(seen) == len(set(seen)), "a row was repeated"
    survivors = before - deleted
    assert survivors <= set(seen), f"skipped {sorted(survivors - set(seen))[:10]}"
    assert step > 10 and deleted


async def test_limits(client: httpx.AsyncClient, app_db: str) -> None:
    seed(app_db, 260)
    assert len((await client.get("/leads")).json()["data"]) == 50
    assert len((await client.get("/leads", params={"limit": 200})).json()["data"]) == 200
    assert len((await client.get("/leads", params={"limit": 1})).json()["data"]) == 1
    for bad in ("0", "201", "-1", "abc", "1e3", ""):
        for path in ("/leads", "/companies", "/jobs"):
            res = await client.get(path, params={"limit": bad})
            assert res.status_code == 400, (path, bad, res.text)
            assert res.json()["detail"].startswith("limit:"), res.text


async def test_bad_and_foreign_cursors_are_400(client: httpx.AsyncClient, app_db: str) -> None:
    seed(app_db, 120)
    first = (await client.get("/leads", params={"limit": 10})).json()
    good = first["next_cursor"]
    body, mac = good.split(".")
    companies_cursor = (await client.get("/companies", params={"limit": 10})).json()["next_cursor"]
    high_cursor = (await client.get("/leads", params={"limit": 1, "bucket": "medium"})).json()[
        "next_cursor"
    ]
    tampered = [
        body[:-2] + ("AA" if not body.endswith("AA") else "BB") + "." + mac,
        body + "." + mac[:-2] + ("AA" if not mac.endswith("AA") else "BB"),
        body,
        "." + mac,
        "garbage",
        "x" * 40,
        "%%%.%%%",
        "eyJ2IjoxfQ.AAAA",
        "😀.😀",
    ]
    for cur in (*tampered, companies_cursor):
        res = await client.get("/leads", params={"cursor": cur})
        assert res.status_code == 400, (cur, res.text)
        assert res.json()["detail"].startswith("cursor: invalid"), res.text
    # A cursor is bound to its filters: a bucket=medium cursor does not continue bucket=low.
    res = await client.get("/leads", params={"cursor": high_cursor, "bucket": "low"})
    assert res.status_code == 400
    ok = await client.get("/leads", params={"cursor": high_cursor, "bucket": "medium"})
    assert ok.status_code == 200
    res = await client.get("/leads", params={"cursor": "c" * 600})
    assert res.status_code == 400 and res.json()["detail"].startswith("cursor:")
    # A /leads cursor is not a /companies cursor either.
    res = await client.get("/companies", params={"cursor": good})
    assert res.status_code == 400 and res.json()["detail"].startswith("cursor: invalid")


async def test_another_tenants_cursor_is_rejected_and_leaks_nothing(
    client: httpx.AsyncClient, app_db: str, auth_on: None
) -> None:
    seed(app_db, 60, tenant="tenant-a")
    seed(app_db, 5, tenant="tenant-b", start=5_000)
    a = (await client.get("/leads", params={"limit": 10}, headers=bearer("tenant-a"))).json()
    assert len(a["data"]) == 10 and a["next_cursor"]
    res = await client.get(
        "/leads", params={"cursor": a["next_cursor"]}, headers=bearer("tenant-b")
    )
    assert res.status_code == 400 and "cursor: invalid" in res.json()["detail"]
    assert "tenant-a" not in res.text
    b = await walk(client, "/leads", {"limit": 2}, headers=bearer("tenant-b"))
    assert [r["company_id"] for r in b] == expected(app_db, "tenant-b")
    assert len(b) == 5
    assert (await client.get("/leads", headers=bearer("tenant-c"))).json() == {
        "data": [],
        "next_cursor": None,
    }
    for path in ("/leads", "/companies", "/icp/preview"):
        assert (await client.get(path)).status_code == 401, path


def test_a_bucket_is_a_range_of_scores(app_db: str) -> None:
    seed(app_db, 5)
    with psycopg.connect(app_db, autocommit=True) as conn:
        # The three buckets tile 0..100 and each score falls in its own bucket's range.
        ranges = conn.execute(
            "SELECT icp_lead_bucket(s), min(s), max(s),"
            " bool_and(s BETWEEN icp_bucket_min(icp_lead_bucket(s))"
            "          AND icp_bucket_max(icp_lead_bucket(s)))"
            " FROM generate_series(0, 100) AS s GROUP BY 1 ORDER BY 2"
        ).fetchall()
        assert ranges == [("low", 0, 64, True), ("medium", 65, 84, True),
                          ("high", 85, 100, True)]  # fmt: skip
        # A score stored with another bucket is refused (the pages' ranges rely on it).
        with pytest.raises(psycopg.errors.CheckViolation, match="lead_scores_bucket_of_score"):
            conn.execute("UPDATE lead_scores SET bucket = 'high' WHERE score < 85")
        with pytest.raises(psycopg.errors.CheckViolation, match="lead_scores_bucket_of_score"):
            conn.execute("UPDATE lead_scores SET score = 90 WHERE bucket = 'low'")


async def test_leads_filters(client: httpx.AsyncClient, app_db: str) -> None:
    seed(app_db, 300)
    for bucket in ("high", "medium", "low"):
        got = await walk(client, "/leads", {"bucket": bucket, "limit": 13})
        assert [r["company_id"] for r in got] == expected(app_db, where=f"bucket = '{bucket}'")
        assert got and {r["bucket"] for r in got} == {bucket}
    for prefix, where in (
        ("1", "c.industry_code LIKE '1%%'"),
        ("1071", "c.industry_code LIKE '1071%%'"),
        ("56111", "c.industry_code = '56111'"),
        ("9", "false"),
    ):
        got = await walk(client, "/leads", {"industry_code": prefix, "limit": 17})
        assert [r["company_id"] for r in got] == expected(app_db, where=where), prefix
    # A bucket within a code prefix: each code's walk is bounded by the bucket's score range
    # (migration 0023); more rows, whose scores do not follow their codes, so every code
    # holds several buckets and ties across pages.
    seed(app_db, 200, start=2_000, scores=4)
    for prefix in ("1", "6", "56111"):
        for bucket in ("high", "medium", "low"):
            both = await walk(client, "/leads",
                              {"industry_code": prefix, "bucket": bucket, "limit": 9})  # fmt: skip
            want = expected(app_db, where=f"c.industry_code LIKE '{prefix}%%'"
                                          f" AND bucket = '{bucket}'")  # fmt: skip
            assert [r["company_id"] for r in both] == want, (prefix, bucket)
            assert want or bucket == "high", (prefix, bucket)  # 62011's only
    cases = [
        ({"bucket": "HIGH"}, "bucket:"),
        ({"bucket": "top"}, "bucket:"),
        ({"industry_code": "abc"}, "industry_code: expected 1-5 digits"),
        ({"industry_code": "123456"}, "industry_code: expected 1-5 digits"),
        ({"industry_code": ""}, "industry_code: expected 1-5 digits"),
        ({"industry_code": "1%"}, "industry_code: expected 1-5 digits"),
        ({"industry_code": "x" * 100}, "industry_code:"),
    ]
    for params, fragment in cases:
        res = await client.get("/leads", params=params)
        assert res.status_code == 400, (params, res.text)
        assert res.json()["detail"].startswith(fragment), res.text


def score_for(url: str, tenant: str, uens: list[str]) -> None:
    """Give ``tenant`` a score for each company of ``uens`` (as its search would)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO lead_scores (tenant_id, search_id, company_id, score, bucket, rationale)"
            " SELECT %s, %s, company_id, 50, 'low', 'seeded' FROM companies"
            " WHERE uen = ANY(%s)",
            (tenant, search_of(conn, tenant), uens),
        )


async def test_companies_by_id_and_by_name_prefix(client: httpx.AsyncClient, app_db: str) -> None:
    seed(app_db, 150)
    # Companies only another tenant's searches reached, some with matching names: never
    # listed for this tenant, by id or by name.
    seed(app_db, 40, tenant="other", start=1_000)
    with psycopg.connect(app_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO companies (uen, name, industry_code) VALUES"
            " ('N1', 'ACME 100% Pte Ltd', '10711'), ('N2', 'acme 100x Pte Ltd', '10711'),"
            " ('N3', 'Acme_Works', '47111'), ('N4', 'AcmeXWorks', '47111'),"
            " ('N5', 'acme', '62011'), ('N6', 'ACME', '62011'), ('N7', 'Acme', '10712'),"
            " ('N8', 'Ácme Unicode', '10711'), ('N9', 'a\\cme', '10711'),"
            " ('X1', 'Acme Rival', '10711'), ('X2', 'ACME 100% Rival', '47111')"
        )
    score_for(app_db, "default", [f"N{i}" for i in range(1, 10)])
    score_for(app_db, "other", ["X1", "X2", "N1"])
    with psycopg.connect(app_db) as conn:
        by_id = [
            r[0]
            for r in conn.execute(
                "SELECT company_id FROM lead_scores WHERE tenant_id = 'default' ORDER BY 1"
            )
        ]
        acme = conn.execute(
            "SELECT company_id, lower(name) FROM companies WHERE lower(name) LIKE 'acme%'"
            " AND uen LIKE 'N%'"
        ).fetchall()
        total = conn.execute("SELECT count(*) FROM companies").fetchone()
    assert total and total[0] == 150 + 40 + 11 and len(by_id) == 150 + 9
    got = await walk(client, "/companies", {"limit": 11})
    assert [r["company_id"] for r in got] == by_id
    assert set(got[0]) >= {"company_id", "uen", "name", "industry_code", "industry_norm"}
    named = await walk(client, "/companies", {"q": "AcMe", "limit": 2})
    want = [cid for cid, _ in sorted(acme, key=lambda r: (r[1].encode(), r[0]))]
    assert [r["company_id"] for r in named] == want and len(want) == 7
    # LIKE's metacharacters are literal in q.
    assert [r["name"] for r in (await client.get("/companies", params={"q": "acme 100%"})).json()[
        "data"
    ]] == ["ACME 100% Pte Ltd"]  # fmt: skip
    assert [r["name"] for r in (await client.get("/companies", params={"q": "acme_"})).json()[
        "data"
    ]] == ["Acme_Works"]  # fmt: skip
    assert [r["name"] for r in (await client.get("/companies", params={"q": "a\\c"})).json()[
        "data"
    ]] == ["a\\cme"]  # fmt: skip
    assert [r["name"] for r in (await client.get("/companies", params={"q": "ácme"})).json()[
        "data"
    ]] == ["Ácme Unicode"]  # fmt: skip
    food = await walk(client, "/companies", {"industry": "1071", "limit": 7})
    assert food and all(r["industry_code"].startswith("1071") for r in food)
    assert [r["company_id"] for r in food] == sorted(r["company_id"] for r in food)
    both = await walk(client, "/companies", {"industry": "47", "q": "acme", "limit": 1})
    assert [r["name"] for r in both] == ["Acme_Works", "AcmeXWorks"]
    for params, fragment in (
        ({"q": ""}, "q:"),
        ({"q": "   "}, "q: must not be blank"),
        ({"q": "x" * 101}, "q:"),
        ({"industry": "C"}, "industry: expected 1-5 digits"),
    ):
        res = await client.get("/companies", params=params)
        assert res.status_code == 400, (params, res.text)
        assert res.json()["detail"].startswith(fragment), res.text
    # The by-name cursor belongs to that prefix only.
    cur = (await client.get("/companies", params={"q": "acme", "limit": 1})).json()["next_cursor"]
    assert (await client.get("/companies", params={"q": "acm", "cursor": cur})).status_code == 400
    assert (await client.get("/companies", params={"cursor": cur})).status_code == 400
    assert (await client.get("/companies", params={"q": "ACME", "cursor": cur})).status_code == 200


def plan(url: str, block: str, filters: list[str], params: dict[str, Any]) -> str:
    from db.queries import q

    sql = q(block).replace("/*filters*/", "\n".join(q(f) for f in filters))
    with psycopg.connect(url) as conn:
        rows = conn.execute("EXPLAIN " + sql, params, prepare=False).fetchall()
    return "\n".join(r[0] for r in rows)


async def test_deep_pages_walk_the_indexes(app_db: str) -> None:
    seed(app_db, 20_000)
    with psycopg.connect(app_db, autocommit=True) as conn:
        conn.execute("ANALYZE companies")
        conn.execute("ANALYZE lead_scores")
    base = {"tenant_id": "default", "score": 45, "company_id": 10_000, "search_id": 0,
            "only_search": None, "limit": 51}  # fmt: skip
    text = plan(app_db, "leads_page", [], {**base, "bucket": None, "industry_prefix": None})
    assert "lead_scores_rank_idx" in text and "Sort" not in text, text
    assert "ROW(score, company_id, search_id) < ROW(" in text.replace("ls.", ""), text
    text = plan(app_db, "leads_page", ["leads_search_filter", "leads_live_filter"],
                {**base, "only_search": 1, "bucket": None, "industry_prefix": None})  # fmt: skip
    # One search holds every row here: either rank index walks it in order, never a sort.
    assert "lead_scores_" in text and "search_id = '1'" in text and "Sort" not in text, text
    text = plan(app_db, "leads_page", ["leads_bucket_filter"],
                {**base, "bucket": "low", "industry_prefix": None})  # fmt: skip
    assert "lead_scores_bucket_rank_idx" in text and "Sort" not in text, text
    # Within a code prefix: a walk of the industry index per code of the prefix.
    text = plan(app_db, "leads_industry_page", [],
                {**base, "bucket": None, "industry_prefix": "10"})  # fmt: skip
    assert "lead_scores_industry_rank_idx" in text and "Seq Scan" not in text, text
    text = plan(
        app_db,
        "companies_by_name_page",
        [],
        {"name_prefix": "company 1", "name_key": "company 15", "company_id": 5, "limit": 51,
         "tenant_id": "default"},
    )  # fmt: skip
    assert "companies_lower_name_idx" in text and "Bitmap" not in text, text
    assert "~>=~ 'company 1'" in text and "~<~ 'company 2'" in text, text
    assert "lead_scores_tenant_company_idx" in text, text  # the tenant check: a key probe
    # The tenant's companies by id: one probe of its scores' index per id from the cursor
    # on; within a code prefix, a walk of the companies' code index per code.
    params = {"tenant_id": "default", "company_id": 10_000, "limit": 51, "industry_prefix": "10"}
    text = plan(app_db, "companies_page", [], params)
    assert "lead_scores_tenant_company_idx" in text and "Bitmap" not in text, text
    assert "company_id > '10000'" in text, text
    text = plan(app_db, "companies_industry_page", [], params)
    assert "companies_industry_code_idx" in text and "Bitmap" not in text, text
    assert "company_id > '10000'" in text, text


async def test_a_rare_code_beyond_the_score_order_window_is_still_paged(
    client: httpx.AsyncClient, app_db: str
) -> None:
    """/leads?industry_code= reads the tenant's best 2,000 keys in score order first and
    falls back to a walk per code when they hold less than a page of the prefix: a rare
    code whose leads all rank below those 2,000 is paged whole, in order, either way."""
    seed(app_db, 2_500, scores=3)  # 2,500 leads of five common codes, scores 30, 45, 60
    with psycopg.connect(app_db, autocommit=True) as conn:
        conn.execute(
            """
            WITH c AS (
                INSERT INTO companies (uen, name, industry_code, industry_norm)
                SELECT 'R' || lpad(i::text, 9, '0'), 'Rare ' || i, '01120', 'Rare'
                FROM generate_series(1, 40) AS i
                RETURNING company_id
            )
            INSERT INTO lead_scores (tenant_id, search_id, company_id, score, bucket, is_live,
                                     rationale)
            SELECT 'default', %s, company_id, 20 - company_id %% 3, icp_lead_bucket(20),
                   true, 'rare'
            FROM c
            """,
            (search_of(conn, "default"),),
        )
    rare = expected(app_db, where="c.industry_code = '01120'")
    assert len(rare) == 40
    order = expected(app_db)
    assert min(order.index(r) for r in rare) >= 2_000  # all beyond the score-order window
    for prefix, where in (("0112", "c.industry_code LIKE '0112%%'"),
                          ("0", "c.industry_code LIKE '0%%'")):  # fmt: skip
        got = await walk(client, "/leads", {"industry_code": prefix, "limit": 17})
        assert [r["company_id"] for r in got] == expected(app_db, where=where), prefix
    common = CODES[0][:2]
    got = await walk(client, "/leads", {"industry_code": common, "limit": 50})
    want = expected(app_db, where=f"c.industry_code LIKE '{common}%%'")
    assert [r["company_id"] for r in got] == want and len(want) >= 500
