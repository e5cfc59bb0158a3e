"""``/leads`` and ``/companies``: keyset-paged lists (``{data, next_cursor}``).

``/leads`` is the caller's scored companies, best first, in the unique order
(score DESC, company_id DESC); ``/companies`` is the companies the caller's own searches
scored (never those only another tenant's searches reached), by id, or by
(lower(name), company_id) when a name prefix is given. Every page is one indexed walk of
``limit + 1`` rows from the cursor's position (``api.pagination.Keyset``): no OFFSET, no
COUNT(*). ``limit`` is 1-200 (default 50); out of range, a bad filter or a cursor from
another list, tenant or filter set is a 400 with a one-line ``detail``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Query
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from api.deps import Conn, CurrentTenant
from api.pagination import (
    DEFAULT_LIMIT,
    MAX_CURSOR_CHARS,
    MAX_LIMIT,
    Keyset,
    scope_of,
)
from api.routes_jobs import ERRORS, JobsRoute
from db.companies import list_searches
from db.queries import q

Bucket = Literal["high", "medium", "low"]
MAX_NAME_PREFIX = 100

router = APIRouter(tags=["leads"], route_class=JobsRoute)

LEADS = Keyset(
    "leads",
    {"score": int, "company_id": int, "search_id": int},
    {"score": 101, "company_id": 0, "search_id": 0},
)
COMPANIES = Keyset("companies", {"company_id": int}, {"company_id": 0})
COMPANIES_BY_NAME = Keyset(
    "companies_by_name", {"name_key": str, "company_id": int}, {"name_key": "", "company_id": 0}
)

Limit = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"rows per page, 1-{MAX_LIMIT} (out of range: 400)"),
]
Cursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_CHARS, description="the previous page's next_cursor"),
]
CodePrefix = Annotated[
    str | None,
    Query(
        max_length=64,
        description="SSIC 2020 code prefix, 1-5 digits (e.g. 10 for food manufacturing)",
        examples=["10", "10711"],
    ),
]
_CODE_PREFIX = re.compile(r"[0-9]{1,5}")


class LeadPublic(BaseModel):
    """A company scored for the caller's ICP."""

    company_id: int
    search_id: int = Field(description="the saved search that scored it (GET /icp/searches)")
    uen: str
    name: str
    industry_code: str | None = Field(description="SSIC 2020 subclass (5 digits)")
    industry_norm: str | None = Field(description="the SSIC title of industry_code")
    incorporation_year: int | None
    score: int = Field(ge=0, le=100)
    bucket: Bucket
    rationale: str = Field(description="the points of each factor of the score, in full")
    status: str | None = Field(description="registry status (Live Company, Struck Off, ...)")
    is_live: bool
    address: str | None = Field(description="registered address")


class SearchPublic(BaseModel):
    """A saved search: one per tenant and resolved SSIC code set."""

    search_id: int
    terms: list[str] = Field(description="the latest wording of the search")
    codes: list[str] = Field(description="the SSIC 2020 subclasses it matches")
    created_at: datetime
    used_at: datetime
    total: int = Field(description="registry companies with these codes")
    live: int = Field(description="of which live")
    scored: int = Field(description="companies scored for this search so far")


class SearchesPage(BaseModel):
    """A tenant's saved searches, latest first."""

    data: list[SearchPublic]


class LeadsPage(BaseModel):
    """One page of leads, best first."""

    data: list[LeadPublic]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class CompanyPublic(BaseModel):
    """A company built from the registry."""

    company_id: int
    uen: str
    name: str
    industry_code: str | None
    industry_norm: str | None
    incorporation_year: int | None
    entity_status: str | None
    is_live: bool | None
    postal_code: str | None


class CompaniesPage(BaseModel):
    """One page of companies."""

    data: list[CompanyPublic]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


P = TypeVar("P", LeadsPage, CompaniesPage)


def _code_prefix(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not _CODE_PREFIX.fullmatch(value):
        raise HTTPException(400, f"{name}: expected 1-5 digits (an SSIC code prefix): {value!r}")
    return value


def _like_escape(text: str) -> str:
    """Return text with LIKE's metacharacters escaped (backslash is LIKE's escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _fetch(
    conn: AsyncConnection[Any], block: str, filters: list[str], params: dict[str, Any]
) -> list[dict[str, Any]]:
    sql = q(block).replace("/*filters*/", "\n  ".join(q(f) for f in filters))
    async with conn.cursor(row_factory=dict_row) as cur:
        # Unprepared: the planner sees the bound prefixes and picks the matching index range.
        await cur.execute(sql, params, prepare=False)
        return await cur.fetchall()


def _page(
    model: type[P], keyset: Keyset, rows: list[dict[str, Any]], limit: int, scope: str
) -> P:
    """Return the page of ``model`` (``{data, next_cursor}``) cut from ``limit + 1`` rows."""
    page, next_cursor = keyset.page(rows, limit, scope)
    return model.model_validate({"data": page, "next_cursor": next_cursor})


@router.get("/leads", response_model=LeadsPage, responses=ERRORS)
async def list_leads(
    tenant: CurrentTenant,
    conn: Conn,
    bucket: Annotated[Bucket | None, Query(description="only leads in this bucket")] = None,
    industry_code: CodePrefix = None,
    search_id: Annotated[
        int | None,
        Query(ge=1, le=2**63 - 1, description="only this saved search's leads (GET /icp/searches)"),
    ] = None,
    status: Annotated[
        Literal["live", "all"],
        Query(description="live (default): live companies only; all: also struck off, ..."),
    ] = "live",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> LeadsPage:
    """List the tenant's scored companies, best first, keyset-paged."""
    industry_code = _code_prefix("industry_code", industry_code)
    scope = scope_of(
        tenant, bucket=bucket, industry_code=industry_code, search_id=search_id, status=status
    )
    after = LEADS.after_or_400(cursor, scope)
    filters = []
    if bucket:
        filters.append("leads_bucket_filter")
        if industry_code:  # each code's walk: the bucket's score range
            filters.append("leads_bucket_range_filter")
    if search_id is not None:
        filters.append("leads_search_filter")
    if status == "live":
        filters.append("leads_live_filter")
    rows = await _fetch(
        conn,
        # Within a code prefix, a walk per code of the prefix (db/queries/leads.sql).
        "leads_industry_page" if industry_code else "leads_page",
        filters,
        {
            "tenant_id": tenant,
            "score": after["score"],
            "company_id": after["company_id"],
            "search_id": after["search_id"],
            "only_search": search_id,
            "bucket": bucket,
            "industry_prefix": industry_code,
            "limit": limit + 1,
        },
    )
    return _page(LeadsPage, LEADS, rows, limit, scope)


@router.get("/companies", response_model=CompaniesPage, responses=ERRORS, tags=["companies"])
async def list_companies(
    tenant: CurrentTenant,
    conn: Conn,
    industry: CodePrefix = None,
    q_: Annotated[
        str | None,
        Query(
            alias="q",
            min_length=1,
            max_length=MAX_NAME_PREFIX,
            description="name prefix, case-insensitive (ordered by name when given)",
        ),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> CompaniesPage:
    """List the tenant's companies by id, or by name within a name prefix, keyset-paged."""
    industry = _code_prefix("industry", industry)
    name_prefix = q_.strip() if q_ is not None else None
    if q_ is not None and not name_prefix:
        raise HTTPException(400, "q: must not be blank")
    keyset = COMPANIES_BY_NAME if name_prefix else COMPANIES
    scope = scope_of(tenant, industry=industry, q=(name_prefix or "").lower())
    after = keyset.after_or_400(cursor, scope)
    params: dict[str, Any] = {
        "tenant_id": tenant,
        "company_id": after["company_id"],
        "industry_prefix": industry,
        "limit": limit + 1,
    }
    if name_prefix:
        params |= {"name_prefix": _like_escape(name_prefix), "name_key": after["name_key"]}
        filters = ["companies_industry_filter"] if industry else []
        rows = await _fetch(conn, "companies_by_name_page", filters, params)
    else:
        # Within a code prefix, a walk per code of the prefix (db/queries/leads.sql).
        block = "companies_industry_page" if industry else "companies_page"
        rows = await _fetch(conn, block, [], params)
    return _page(CompaniesPage, keyset, rows, limit, scope)


@router.get("/icp/searches", response_model=SearchesPage, responses=ERRORS, tags=["searches"])
async def searches(
    tenant: CurrentTenant,
    conn: Conn,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="searches to list")] = 100,
) -> SearchesPage:
    """List the tenant's saved searches, latest first, with total, live and scored counts."""
    rows = await list_searches(conn, tenant_id=tenant, limit=limit)
    return SearchesPage(data=[SearchPublic(**r) for r in rows])
