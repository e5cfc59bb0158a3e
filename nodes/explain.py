"""explain: why a lead scored what it did ("why #3?", "why is the first one 88?", "why X?").

The company is found among the leads shown in the thread (by rank in the thread's table, by
score, or by name), else among the tenant's scored companies by name; the reply lists the
factors its score was computed from (``lead_scores.rationale``). A message naming no
company gets a question, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig

from db.followups import scored_companies, scored_companies_by_name
from db.postal import area_of
from graph.state import State
from nodes.context import budgeted_connection, failed_step, tenant_of
from nodes.follow_up import CONTACT_TEXT
from nodes.reply_table import missing_rank, no_such_lead

WHICH = (
    "Which company? Give its number in the table (\u201cwhy #3?\u201d), its score "
    "(\u201cwhy 88?\u201d) or its name (\u201cwhy Sunrise Bakery?\u201d)."
)
_SUFFIX = re.compile(r"\s+(?:pte|private|ltd|limited|llp|lp|co|company|inc|corp|sg|s)\b.*$")


def factors_text(row: Mapping[str, Any], rank: int | None) -> str:
    """Return the explanation of one scored company: score, bucket and each factor."""
    where = f"#{rank} " if rank else ""
    head = (
        f"{where}**{row['name']}** (UEN {row['uen']}) scored **{row['score']}** "
        f"({row['bucket']}). The factors of its score:"
    )
    return "\n".join([head, *_factor_lines(row)])


def activity_text(row: Mapping[str, Any], rank: int | None) -> str:
    """Return the answer to "what does #2 do?": the activity the company is registered
    for (its primary SSIC code), then the factors of its score."""
    where = f"#{rank} " if rank else ""
    code, title = row.get("industry_code"), row.get("industry_norm")
    what = f"SSIC {code} \u201c{title}\u201d" if code and title else f"SSIC {code or 'unknown'}"
    head = (
        f"{where}**{row['name']}** (UEN {row['uen']}) is registered for {what}, its primary "
        "activity in ACRA's registry (which holds no description of its own)."
    )
    score = f"It scored **{row['score']}** ({row['bucket']}) here:"
    return "\n\n".join([head, "\n".join([score, *_factor_lines(row)])])


def _factor_lines(row: Mapping[str, Any]) -> list[str]:
    """Return a scored company's factors as list items, its registered address last."""
    parts = [p.strip() for p in str(row["rationale"]).split("\u00b7") if p.strip()]
    lines = [f"- {p[:1].upper()}{p[1:]}" for p in parts]
    address = registered_address(row)
    if address:
        lines.append(f"- Registered address: {address}")
    return lines


def registered_address(row: Mapping[str, Any]) -> str:
    """Return a company's registered address with its area ("... 609601 (Jurong East)"), or
    "" when the registry has none."""
    if not row.get("address"):
        return ""
    area = area_of(row.get("postal_code") or row.get("address"))
    return f"{row['address']}" + (f" ({area})" if area else "")


def contact_text(row: Mapping[str, Any], rank: int | None) -> str:
    """Return the answer to "who are the directors of #1?": the lead, its registered
    address, and where people and contact details come from (the registry has none)."""
    where = f"#{rank} is " if rank else ""
    address = registered_address(row)
    address = f" Registered address: {address}." if address else ""
    return f"{where}**{row['name']}** (UEN {row['uen']}).{address}\n\n{CONTACT_TEXT}"


def _prefix(name: str) -> str:
    text = _SUFFIX.sub("", " ".join(name.lower().replace(".", " ").split()))
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def explain(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Explain the score of the company the message names."""
    slots = state.get("slots", {})
    shown = state.get("shown", [])
    if not shown and not state.get("codes"):
        return {"answer": "There are no leads to explain yet. Tell me an industry first."}
    if not slots:
        return {"answer": WHICH}
    rank = slots.get("rank")
    if rank is not None and missing_rank(rank, shown):
        then = "\n\n" + CONTACT_TEXT if slots.get("contact") else " " + WHICH
        return {"answer": no_such_lead(f"#{rank}", shown) + then}
    tenant = tenant_of(config)
    search_id = int(state.get("search_id") or 0)  # 0: nothing scored (no rows)
    try:
        async with budgeted_connection() as conn:
            if "name" in slots:
                rows = await scored_companies_by_name(
                    conn,
                    tenant_id=tenant,
                    search_id=search_id,
                    prefix=_prefix(str(slots["name"])),
                )
            else:
                ids = [shown[rank - 1 if rank > 0 else -1]] if rank is not None else shown
                rows = await scored_companies(
                    conn, tenant_id=tenant, search_id=search_id, ids=ids
                )
    except Exception as exc:  # reported once and told to the user
        return {"answer": await failed_step("Reading the score", exc, config, node="explain")}
    return {"answer": _answer(rows, slots, shown)}


def _answer(rows: list[dict[str, Any]], slots: Mapping[str, Any], shown: list[int]) -> str:
    ranks = {cid: i + 1 for i, cid in enumerate(shown)}
    if "name" in slots:
        if not rows:
            return f"I found no scored company named \u201c{slots['name']}\u201d. " + WHICH
        row = min(rows, key=lambda r: ranks.get(r["company_id"], 10**9))
        text = factors_text(row, ranks.get(row["company_id"]))
        others = [r["name"] for r in rows if r is not row]
        return text + (f"\n\nAlso named like it: {', '.join(others)}." if others else "")
    rows.sort(key=lambda r: ranks.get(r["company_id"], 10**9))
    score = slots.get("score")
    if "rank" not in slots:
        hits = [r for r in rows if r["score"] == score]
        if not hits:
            scores = ", ".join(str(r["score"]) for r in rows[:10])
            return f"None of the leads shown scored {score} (their scores: {scores}). " + WHICH
        text = factors_text(hits[0], ranks.get(hits[0]["company_id"]))
        also = [f"#{ranks[r['company_id']]}" for r in hits[1:]]
        return text + (f"\n\n{', '.join(also)} scored {score} too." if also else "")
    if not rows:
        return "That company's score is no longer stored. " + WHICH
    row = rows[0]
    if slots.get("contact"):
        return contact_text(row, ranks.get(row["company_id"]))
    if slots.get("activity"):
        return activity_text(row, ranks.get(row["company_id"]))
    text = factors_text(row, ranks.get(row["company_id"]))
    if score is not None and score != row["score"]:
        text = f"(It scored {row['score']}, not {score}.)\n\n" + text
    return text
