"""normalize: extract industry terms, resolve them to SSIC codes, count matches, pick the mode."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from langchain_core.runnables import RunnableConfig

from config.settings import get_settings
from db.companies import count_matching, sample_matching
from db.pool import get_pool
from graph.state import CodeMatch, State
from nodes.context import NO_TENANT, budget_s, effective_mode, failed_step, tenant_of
from nodes.resolve import Resolution, resolve_terms
from nodes.terms import extract_terms, latest_human_text

PREVIEW_LIMIT = 20


def code_matches(resolution: Resolution) -> list[CodeMatch]:
    """Return the state's code list (one per subclass, strongest hit) from a resolution."""
    return [
        CodeMatch(code=h.code, title=h.title, level=h.via_level, term=h.term, weight=h.weight)
        for h in resolution.codes
    ]


async def normalize(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Turn the latest human message into terms, SSIC codes, a match count and a mode."""
    tenant = tenant_of(config)
    terms = extract_terms(latest_human_text(state.get("messages", [])))
    out: dict[str, Any] = {
        "terms": terms,
        "tenant_id": tenant,
        "mode": get_settings().staging_upsert_mode,
        "resolutions": [],
        "codes": [],
        "total": 0,
        "head": [],
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
                codes = resolution.code_list
                if codes and mode != "off":
                    # Unknown until counted: a failed count must never read as zero.
                    step, out["total"] = "Counting the matching companies", None
                    out["total"], _live = await count_matching(conn, codes)
                if codes and mode == "sync_preview":
                    step = "Sampling the matching companies"
                    out["candidates"] = await sample_matching(conn, codes, PREVIEW_LIMIT)
    except Exception as exc:  # reported once and told to the user, never a silent zero
        out["errors"] = [await failed_step(step, exc, config, node="normalize")]
    return out
