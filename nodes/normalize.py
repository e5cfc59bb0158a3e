"""normalize: extract industry terms, resolve them to SSIC codes, count matches, pick the mode.

It runs for a new search only (``route`` sends follow-ups elsewhere); a changed search
("also logistics") resolves the request ``route`` put in ``search_text``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.runnables import RunnableConfig

from config.settings import get_settings
from db.companies import IcpCode, count_matching_by_term, sample_matching
from db.followups import scored_companies
from db.pool import autocommit, get_pool
from graph.state import CodeMatch, SearchGroup, State
from nodes.context import NO_TENANT, budget_s, effective_mode, failed_step, tenant_of
from nodes.resolve import Resolution, clarification, set_aside_parts, understand_extraction
from nodes.terms import extract, latest_human_text

PREVIEW_LIMIT = 20
_GROUP = "\x1f"  # joins a term and its matched SSIC group into one counting key


def code_matches(resolution: Resolution) -> list[CodeMatch]:
    """Return the state's code list (one per subclass, strongest hit) from a resolution."""
    return [
        {
            "code": h.code,
            "title": h.title,
            "level": h.via_level,
            "term": h.term,
            "weight": h.weight,
            "via": h.via_code,
        }
        for h in resolution.codes
    ]


def group_codes(resolution: Resolution) -> list[IcpCode]:
    """Return the codes keyed by term and matched group, to count each group's companies."""
    return [
        IcpCode(h.code, h.weight, f"{h.term}{_GROUP}{h.via_code}", h.title)
        for h in resolution.codes
    ]


def search_groups(resolution: Resolution, counts: dict[str, tuple[int, int]]) -> list[SearchGroup]:
    """Return every SSIC group each term matched, with its official title and counts."""
    return [
        SearchGroup(
            term=tr.term,
            code=g.code,
            level=g.level,
            title=g.title,
            codes=g.count,
            total=counts.get(f"{tr.term}{_GROUP}{g.code}", (0, 0))[0],
            live=counts.get(f"{tr.term}{_GROUP}{g.code}", (0, 0))[1],
        )
        for tr in resolution.terms
        for g in tr.groups
    ]


def unused_words(resolution: Resolution) -> list[str]:
    """Return what the search did not use: unmatched terms and words a match left out."""
    out: list[str] = []
    for tr in resolution.terms:
        if not tr.broad:
            out += [tr.text or tr.term] if not tr.groups else list(tr.unused)
    return list(dict.fromkeys(out))


async def like_request(state: State, config: RunnableConfig) -> tuple[str, str, str]:
    """Return the search "more like #3" amounts to (the SSIC code that lead is registered
    for), the reply's lead-in naming it and the search's term (the code's title, lowercase);
    ("", why, "") when it has no code."""
    rank = int(state.get("slots", {}).get("rank") or 0)
    pool = await get_pool()
    async with pool.connection(timeout=budget_s()) as conn:
        rows = await scored_companies(
            conn,
            tenant_id=tenant_of(config),
            search_id=int(state.get("search_id") or 0),
            ids=[int(state.get("like_company") or 0)],
        )
    if not rows or not rows[0].get("industry_code"):
        return "", f"#{rank} has no SSIC code in the registry to search by.", ""
    row = rows[0]
    title = f" \u201c{row['industry_norm']}\u201d" if row.get("industry_norm") else ""
    return (
        str(row["industry_code"]),
        f"Companies like #{rank} **{row['name']}**: its industry, SSIC "
        f"{row['industry_code']}{title}.",
        str(row.get("industry_norm") or "").lower(),
    )


async def normalize(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Turn the latest human message into terms, SSIC codes, a match count and a mode."""
    tenant = tenant_of(config)
    text = state.get("search_text") or latest_human_text(state.get("messages", []))
    lead_in = label = ""
    if state.get("like_company") and tenant:
        try:
            text, lead_in, label = await like_request(state, config)
        except Exception as exc:  # reported once and told to the user
            error = await failed_step("Reading that lead", exc, config, node="normalize")
            return {"errors": [error], "intent": "search", "codes": [], "terms": []}
    extraction = extract(text)
    out: dict[str, Any] = {
        "terms": extraction.texts,
        "tenant_id": tenant,
        "mode": get_settings().staging_upsert_mode,
        "intent": "search",
        "resolutions": [],
        "codes": [],
        "set_aside": set_aside_parts(extraction),
        "clarify": None,
        "total": 0,
        "live": 0,
        "groups": [],
        "unused": [],
        "head": [],
        "page": [],
        "shown": [],
        "job": None,
        "search_id": None,
        "head_filtered": False,
        "head_scored": 0,
        "candidates": [],
        "errors": [],
        **({"answer": lead_in} if lead_in else {}),
    }
    if not extraction.terms:
        return out
    if not tenant:
        out["errors"] = [NO_TENANT]
        return out
    step = "Looking up industries"
    try:
        async with asyncio.timeout(budget_s()):
            pool = await get_pool()
            async with pool.connection(timeout=budget_s()) as conn:
                await autocommit(conn)  # independent reads: no BEGIN/COMMIT round trips
                out["mode"] = mode = await effective_mode(conn, tenant)
                understood = await understand_extraction(conn, extraction)
                resolution = understood.resolution
                out["terms"] = understood.terms or extraction.texts
                if label and resolution.code_list:  # "Leads for “retail sale of …”", not the code
                    out["terms"] = [label]
                out["resolutions"] = resolution.summary()
                out["codes"] = code_matches(resolution)
                out["set_aside"] = understood.set_aside()
                out["clarify"] = clarification(resolution)
                out["unused"] = unused_words(resolution)
                codes = resolution.code_list
                counts: dict[str, tuple[int, int]] = {}
                if codes and mode != "off":
                    # Unknown until counted: a failed count must never read as zero.
                    step, out["total"], out["live"] = "Counting the matching companies", None, None
                    counts = await count_matching_by_term(conn, group_codes(resolution))
                    out["total"] = sum(total for total, _ in counts.values())
                    out["live"] = sum(live for _, live in counts.values())
                out["groups"] = search_groups(resolution, counts)
                if codes and mode == "sync_preview":
                    step = "Sampling the matching companies"
                    out["candidates"] = await sample_matching(conn, codes, PREVIEW_LIMIT)
    except Exception as exc:  # reported once and told to the user, never a silent zero
        out["errors"] = [await failed_step(step, exc, config, node="normalize")]
    return out
