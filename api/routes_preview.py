"""``GET /icp/preview`` (the search box's fast path) and the product's page under ``/app/``.

The preview runs the graph's own extraction and resolution (``nodes.terms``,
``nodes.resolve``: the one resolver the chat and the job route use), counts matching
registry rows exactly from the per-code counts table and samples at most 20, all in one
read-only transaction: no writes, no job. ``q`` longer than 500 characters is a 400 (the
page's input stops at 500); empty text or chit-chat is a 200 with no terms and a total of
0; a too-broad word ("services") is a 200 with no codes and the main groups to choose from
in ``options``.

The page is three static files (no build step, no network beyond this origin). Its HTML
carries the settings it needs (``CHAT_DEBOUNCE_MS``, whether auth is on) in ``<meta>``
tags, so it needs no extra request before its first keystroke.
"""

from __future__ import annotations

import html
from functools import lru_cache
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from api.deps import Conn, CurrentTenant
from api.routes_jobs import ERRORS, JobsRoute
from config.settings import get_settings
from db.companies import count_matching, sample_matching
from nodes.resolve import clarification, set_aside_parts, understand_extraction
from nodes.terms import extract

MAX_QUERY_CHARS = 500
SAMPLE_SIZE = 20

router = APIRouter(prefix="/icp", tags=["preview"], route_class=JobsRoute)


class CodeTitle(BaseModel):
    """An SSIC 2020 subclass the terms resolved to."""

    code: str = Field(description="5-digit SSIC 2020 subclass")
    title: str


class GroupPublic(BaseModel):
    """A matched SSIC node (any level) with its official title."""

    code: str
    level: str = Field(description="section, division, group, class or subclass")
    title: str = Field(description="official SSIC 2020 title")
    count: int = Field(description="subclasses below it")


class TermReason(BaseModel):
    """What one term matched."""

    term: str
    reason: str = Field(description="the SSIC title, synonym or index phrase that matched")
    count: int = Field(description="subclasses this term reached")
    how: str = Field(description="synonym, title, group, index, definition, typo, text, ...")
    groups: list[GroupPublic] = Field(description="the matched SSIC groups, official titles")
    unused: list[str] = Field(description="words of the term the match did not use")


class SetAsidePublic(BaseModel):
    """A part of the query that is not an industry word (not applied by the search)."""

    kind: str = Field(description="location, date, size, status, qualifier, generic, unused")
    text: str
    term: str
    op: str = ""
    value: str = ""


class SampleCompany(BaseModel):
    """A matching registry row (live entities first)."""

    uen: str
    name: str
    industry_code: str
    is_live: bool | None


class PreviewPublic(BaseModel):
    """What a search would queue: the terms, their SSIC codes, the exact count, a sample."""

    terms: list[str]
    codes: list[CodeTitle]
    total: int = Field(description="matching registry rows (exact)")
    live: int = Field(description="of which live entities")
    sample: list[SampleCompany] = Field(description=f"at most {SAMPLE_SIZE} matching rows")
    reasons: list[TermReason]
    set_aside: list[SetAsidePublic] = Field(
        description="places, dates, sizes and other words the search did not use"
    )
    too_broad: list[str] = Field(description="words too broad to search (no codes for them)")
    options: list[GroupPublic] = Field(description="main groups to choose from instead")


@router.get("/preview", response_model=PreviewPublic, responses=ERRORS)
async def preview(
    tenant: CurrentTenant,
    conn: Conn,
    q: Annotated[
        str,
        Query(
            max_length=MAX_QUERY_CHARS,
            description=f"what the user typed (at most {MAX_QUERY_CHARS} characters)",
            examples=["Manufacturing", "bakery and restaurants"],
        ),
    ] = "",
) -> PreviewPublic:
    """Preview a search: resolved SSIC codes, exact total and a sample, without writing."""
    extraction = extract(q)
    if not extraction.terms:
        return PreviewPublic(
            terms=[],
            codes=[],
            total=0,
            live=0,
            sample=[],
            reasons=[],
            set_aside=[SetAsidePublic(**p) for p in set_aside_parts(extraction)],
            too_broad=[],
            options=[],
        )
    await conn.set_read_only(True)  # BEGIN READ ONLY: no round trip of its own to say so
    async with conn.transaction():
        understood = await understand_extraction(conn, extraction)
        resolution = understood.resolution
        codes = resolution.code_list
        total, live = await count_matching(conn, codes) if codes else (0, 0)
        sample = await sample_matching(conn, codes, SAMPLE_SIZE) if codes else []
    clarify = clarification(resolution)
    return PreviewPublic(
        terms=understood.terms or extraction.texts,
        codes=[CodeTitle(code=h.code, title=h.title) for h in resolution.codes],
        total=total,
        live=live,
        sample=[SampleCompany(**row) for row in sample],
        reasons=[
            TermReason(
                term=tr.term,
                reason=tr.reason,
                count=len(tr.hits),
                how=tr.how,
                groups=[GroupPublic(**vars(g)) for g in tr.groups],
                unused=list(tr.unused),
            )
            for tr in resolution.terms
            if not tr.broad
        ],
        set_aside=[SetAsidePublic(**p) for p in understood.set_aside()],
        too_broad=clarify["terms"] if clarify else [],
        options=[GroupPublic(**o) for o in clarify["options"]] if clarify else [],
    )


# The page: GET only, under /app (the LangGraph server owns /ui).
page_router = APIRouter(tags=["page"], include_in_schema=False)

_ASSETS = {"app.js": "text/javascript", "app.css": "text/css", "favicon.svg": "image/svg+xml"}
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    # Nothing but this origin: the page works offline and cannot leak to a CDN.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
}


@lru_cache(maxsize=8)
def _static(name: str) -> str:
    return resources.files("api").joinpath("static", name).read_text(encoding="utf-8")


@page_router.api_route("/app", methods=["GET", "HEAD"])
async def page_redirect() -> RedirectResponse:
    """Redirect to the page's canonical URL (relative asset paths need the slash)."""
    return RedirectResponse("/app/", status_code=308)


@page_router.api_route("/app/", methods=["GET", "HEAD"])
async def page() -> Response:
    """Serve the page with its settings inlined."""
    settings = get_settings()
    text = (
        _static("index.html")
        .replace("{{debounce_ms}}", html.escape(str(settings.chat_debounce_ms)))
        .replace("{{auth}}", "on" if settings.auth_jwt_secret else "off")
    )
    return Response(text, media_type="text/html; charset=utf-8", headers=_HEADERS)


@page_router.api_route("/app/{asset}", methods=["GET", "HEAD"])
async def page_asset(asset: str) -> Response:
    """Serve one of the page's static files."""
    media_type = _ASSETS.get(asset)
    if media_type is None:
        raise HTTPException(404, f"no page asset {asset!r}")
    return Response(_static(asset), media_type=f"{media_type}; charset=utf-8", headers=_HEADERS)
