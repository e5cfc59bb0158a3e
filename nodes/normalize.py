"""normalize: extract industry terms, resolve them to SSIC codes, count matches, pick the mode.

A message asking for the next page of the active search ("more", "next 20") keeps the
search (terms, codes, counts, job, what was shown) and only marks the turn as ``more``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from langchain_core.runnables import RunnableConfig

from config.settings import get_settings
from db.companies import count_matching_by_term, sample_matching
from db.pool import get_pool
from graph.state import CodeMatch, SearchGroup, State
from nodes.context import NO_TENANT, budget_s, effective_mode, failed_step, tenant_of
from nodes.head_upsert import icp_codes
from nodes.resolve import Resolution, display_title, resolve_terms
from nodes.terms import extract_terms, latest_human_text, more_request

PREVIEW_LIMIT = 20


def code_matches(resolution: Resolution) -> list[CodeMatch]:
    """Return the state's code list (one per subclass, strongest hit) from a resolution."""
    return [
        CodeMatch(code=h.code, title=h.title, level=h.via_level, term=h.term, weight=h.weight)
        for h in resolution.codes
    ]


def search_groups(resolution: Resolution, counts: dict[str, tuple[int, int]]) -> list[SearchGroup]:
    """Return per matched term its industry, subclass count and company counts."""
    groups: list[SearchGroup] = []
    for res in resolution.summary():
        if int(res["count"]) == 0:
            continue
        total, live = counts.get(res["term"], (0, 0))
        groups.append(
            SearchGroup(
                term=res["term"],
                code=res["code"],
                level=res["level"],
                title=display_title(res["title"]),
                codes=int(res["count"]),
                total=total,
                live=live,
            )
        )
    return groups


async def normalize(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Turn the latest human message into terms, SSIC codes, a match count and a mode."""
    tenant = tenant_of(config)
    text = latest_human_text(state.get("messages", []))
    if more_request(text) is not None:
        return {"intent": "more", "page": [], "errors": [], "started_at": time.time()}
    terms = extract_terms(text)
    out: dict[str, Any] = {
        "terms": terms,
        "tenant_id": tenant,
        "mode": get_settings().staging_upsert_mode,
        "intent": "search",
        "resolutions": [],
        "codes": [],
        "total": 0,
        "live": 0,
        "groups": [],
        "unused": [],
        "head": [],
        "page": [],
        "shown": [],
        "job": None,
        "candidates": [],
        "errors": [],
        "started_at": time.time(),
    }
    if not terms:
        return out
    if not tenant:
        out["errors"] = [NO_TENANT]
        return out
    step = "Looking up industries"
    try:
        async with asyncio.timeout(budget_s()):
            pool = await get_pool()
            async with pool.connection(timeout=budget_s()) as conn:
                out["mode"] = mode = await effective_mode(conn, tenant)
                resolution = await resolve_terms(conn, terms)
                out["resolutions"] = resolution.summary()
                out["codes"] = code_matches(resolution)
                out["unused"] = [r["term"] for r in out["resolutions"] if r["count"] == "0"]
                codes = resolution.code_list
                counts: dict[str, tuple[int, int]] = {}
                if codes and mode != "off":
                    # Unknown until counted: a failed count must never read as zero.
                    step, out["total"], out["live"] = "Counting the matching companies", None, None
                    counts = await count_matching_by_term(conn, icp_codes(out["codes"]))
                    out["total"] = sum(total for total, _ in counts.values())
                    out["live"] = sum(live for _, live in counts.values())
                out["groups"] = search_groups(resolution, counts)
                if codes and mode == "sync_preview":
                    step = "Sampling the matching companies"
                    out["candidates"] = await sample_matching(conn, codes, PREVIEW_LIMIT)
    except Exception as exc:  # reported once and told to the user, never a silent zero
        out["errors"] = [await failed_step(step, exc, config, node="normalize")]
    return out
