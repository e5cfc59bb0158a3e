"""``GET /leads/export.csv``: one saved search's scored leads as a file for a CRM or a
spreadsheet, best first, streamed in keyset chunks from one consistent snapshot.

The search is checked first (not the caller's: 404; database trouble: 503/500 as every
route), so the answer's status is known before the first byte. The rows are then read on
a connection of their own inside one repeatable-read transaction; a failure part-way is
logged once and aborts the response, so a client sees a failed download, never a short
file that looks complete.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import Conn, CurrentTenant
from api.errors import request_id
from api.routes_jobs import ERRORS, ErrorBody, JobsRoute
from db.followups import search_leads_chunks, tenant_search
from db.pool import get_pool
from db.postal import area_of
from jobs.failures import report_failure

router = APIRouter(tags=["leads"], route_class=JobsRoute)

COLUMNS = (
    "rank", "name", "uen", "score", "bucket", "status", "live", "ssic_code", "industry",
    "incorporated", "entity_type", "officers", "address", "postal_code", "area", "why",
)  # fmt: skip
"""The file's columns, in order (the README's "HTTP routes" lists them)."""
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Return a text cell that a spreadsheet will not run as a formula ("=HYPERLINK(...)")."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def csv_row(rank: int, row: dict[str, Any]) -> list[Any]:
    """Return one lead as the file's cells (see COLUMNS)."""
    cells = [
        rank, row["name"], row["uen"], row["score"], row["bucket"], row["status"],
        "yes" if row["is_live"] else "no", row["industry_code"], row["industry_norm"],
        row["incorporation_year"], row["entity_type"], row["officers"], row["address"],
        row["postal_code"], area_of(row["postal_code"]), row["rationale"],
    ]  # fmt: skip
    return [_cell(c) for c in cells]


def file_name(search_id: int, terms: list[str]) -> str:
    """Return the download's name: ``leads-<terms>-<search id>.csv`` in plain letters."""
    slug = re.sub(r"[^a-z0-9]+", "-", " ".join(terms).lower()).strip("-")[:60] or "search"
    return f"leads-{slug}-{search_id}.csv"


@router.get(
    "/leads/export.csv",
    responses={
        **ERRORS,
        200: {"content": {"text/csv": {}}, "description": "the leads"},
        404: {"model": ErrorBody, "description": "no such saved search of the caller's"},
    },
    response_class=StreamingResponse,
)
async def export_leads(
    request: Request,
    tenant: CurrentTenant,
    conn: Conn,
    search_id: Annotated[
        int, Query(ge=1, le=2**63 - 1, description="the saved search (GET /icp/searches)")
    ],
    status: Annotated[
        Literal["live", "all", "inactive"],
        Query(
            description="live (default): live companies only; all: any status; inactive: "
            "only those no longer live (struck off, ceased, ...)"
        ),
    ] = "live",
    year_min: Annotated[
        int | None, Query(ge=1800, le=2200, description="incorporated in this year or later")
    ] = None,
    year_max: Annotated[
        int | None, Query(ge=1800, le=2200, description="incorporated in this year or earlier")
    ] = None,
    sectors: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{2}(,[0-9]{2})*$",
            description="postal sectors, the first two digits of the postal code, comma "
            "separated: 60,61,62",
        ),
    ] = None,
    entity: Annotated[
        Literal["company", "sole", "partnership"] | None,
        Query(description="companies, sole proprietorships/partnerships, or limited (liability) "
              "partnerships"),  # fmt: skip
    ] = None,
    min_officers: Annotated[
        int | None, Query(ge=1, le=100_000, description="at least this many officers")
    ] = None,
    min_score: Annotated[
        int | None, Query(ge=0, le=100, description="at least this lead score")
    ] = None,
    max_score: Annotated[
        int | None, Query(ge=0, le=100, description="at most this lead score")
    ] = None,
    hidden: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{1,18}(,[0-9]{1,18}){0,499}$",
            description="companies to leave out (the ones hidden in the chat: \"hide #2\"), "
            "company ids, comma separated, at most 500",
        ),
    ] = None,
) -> StreamingResponse:
    """Download a saved search's scored leads as CSV (UTF-8 with a BOM, for Excel), best
    first: rank, name, UEN, score and bucket, status, SSIC code and title, incorporation
    year, entity type, officers, address, postal code, area and the score's rationale.
    The filters are the chat's (the link the chat gives for "export these" carries the
    thread's); without them the file holds every live scored lead of the search."""
    if year_min is not None and year_max is not None and year_min > year_max:
        raise HTTPException(400, f"year_min: {year_min} is after year_max {year_max}")
    if min_score is not None and max_score is not None and min_score > max_score:
        raise HTTPException(400, f"min_score: {min_score} is above max_score {max_score}")
    filters = {
        "live": {"live": True, "all": None, "inactive": False}[status],
        "year_min": year_min,
        "year_max": year_max,
        "sectors": sorted(set(sectors.split(","))) if sectors else None,
        "entity": entity,
        "min_officers": min_officers,
        "min_score": min_score,
        "max_score": max_score,
        "hidden": sorted({int(i) for i in hidden.split(",")}) if hidden else None,
    }
    search = await tenant_search(conn, tenant_id=tenant, search_id=search_id)
    if search is None:
        raise HTTPException(404, f"search_id: no saved search {search_id} of yours")

    async def body() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        yield "\ufeff"
        writer.writerow(COLUMNS)
        rank = 0
        try:
            pool = await get_pool()
            async with pool.connection() as own, own.transaction():
                await own.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                async for rows in search_leads_chunks(
                    own, tenant_id=tenant, search_id=search_id, filters=filters
                ):
                    for row in rows:
                        rank += 1
                        writer.writerow(csv_row(rank, row))
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
        except Exception as exc:  # logged once; the aborted response tells the client
            await report_failure(
                exc, stage="http", method="GET", path=request.url.path,
                request_id=request_id(request), rows=rank,
            )  # fmt: skip
            raise
        yield out.getvalue()  # the header alone when the search has no leads yet

    name = file_name(search_id, list(search["terms"]))
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
