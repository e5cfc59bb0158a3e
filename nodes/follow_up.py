"""Follow-ups on the active search that only read: paging and refining what is shown, and
small talk. None of them upserts or queues anything.

* ``refine`` merges the message's filters into the thread's (or removes them) and shows the
  first page of the search's scored leads under them, best first;
* ``leads_page`` is the one read both ``more_leads`` and ``refine`` page with;
* ``small_talk`` answers greetings, thanks, help and unclear messages with a short, varied
  line that points at what the user can do.
"""

from __future__ import annotations

from typing import Any, cast

from langchain_core.runnables import RunnableConfig

from db.companies import scored_leads_page
from graph.state import LeadFilters, LeadRow, State
from jobs.queue import get_job
from nodes.cards import lead_row
from nodes.context import budgeted_connection, failed_step, tenant_of
from nodes.reply_table import filter_words, page_status, quoted
from nodes.terms import MORE_PAGE

CLEARED = {
    "live": ("live",),
    "years": ("year_min", "year_max"),
    "place": ("places", "sectors"),
    "entity": ("entity",),
    "officers": ("min_officers",),
    "score": ("min_score",),
}


async def leads_page(
    state: State, config: RunnableConfig, *, shown: list[int], size: int, node: str
) -> dict[str, Any]:
    """Return the state update of a page: the search's next best scored leads under the
    thread's filters, leaving out ``shown`` (or the error, told to the user)."""
    job = state.get("job")
    filters = state.get("filters", {})
    update: dict[str, Any] = {}
    try:
        async with budgeted_connection() as conn:
            rows = await scored_leads_page(
                conn,
                tenant_id=tenant_of(config),
                search_id=int(state.get("search_id") or 0),  # 0: nothing scored (no rows)
                shown=shown,
                limit=size,
                filters={**filters, "live": page_status(filters)},
            )
            if len(rows) < size and job and job["status"] in ("queued", "running"):
                # A short page blames the job only while it still runs: read its status.
                live = await get_job(conn, job["job_id"], tenant_of(config))
                if live:
                    left = int(live["total"] or 0) - int(live["processed"] or 0)
                    left = max(min(left, job["remaining"]), 0)
                    update["job"] = {**job, "status": live["status"], "remaining": left}
    except Exception as exc:  # reported once and told to the user
        error = await failed_step("Reading the leads", exc, config, node=node)
        return {"page": [], "errors": [error]}
    page: list[LeadRow] = [lead_row(r) for r in rows]
    return {**update, "page": page, "shown": [*shown, *(r["company_id"] for r in page)]}


def merged_filters(current: LeadFilters, slots: dict[str, Any]) -> LeadFilters:
    """Return the thread's filters after a refinement: cleared ones go, new ones combine.

    Clearing the status filter ("include inactive") keeps the key as ``live: None`` (any
    status), since without it pages hold live companies only; clearing all filters goes
    back to that default."""
    out: dict[str, Any] = dict(current)
    for name in slots.get("clear", []):
        for key in CLEARED.get(name, tuple(out) if name == "all" else ()):
            out.pop(key, None)
        if name == "live":
            out["live"] = None
    new = dict(slots.get("filters", {}))
    if "year_min" in new and "year_max" not in new and out.get("year_max", 9999) < new["year_min"]:
        out.pop("year_max")  # "after 2015" after "before 2000": the newer words win
    if "year_max" in new and "year_min" not in new and out.get("year_min", 0) > new["year_max"]:
        out.pop("year_min")
    out.update(new)
    return cast(LeadFilters, out)


def restored(state: State) -> dict[str, Any]:
    """Return the active search back when a new one matched no industry, else {}."""
    kept = state.get("kept") or {}
    if state.get("intent") != "search" or state.get("codes") or not kept.get("codes"):
        return {}
    return {**kept, "kept": {}}


def kept_filters(state: State) -> str:
    """Return what a new search does with the filters its message named (for its notes)."""
    words = filter_words(state.get("filters", {}))
    if words:
        return (
            f"They filter the next pages: **{'; '.join(words)}**. Say \u201cmore\u201d for the "
            "best scored leads under them."
        )
    return (
        "Send a filter as its own message to narrow the leads shown (\u201conly live\u201d, "
        "\u201cin Jurong\u201d, \u201cincorporated after 2015\u201d)."
    )


def still_on(back: dict[str, Any]) -> str:
    """Return the line saying which search stays active after a failed new one."""
    return (
        f"Still on {quoted(back.get('terms', []))}: say \u201cmore\u201d, a filter, or "
        "another industry."
    )


async def refine(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Apply the message's filters to the active search and show its best leads under them."""
    filters = merged_filters(state.get("filters", {}), state.get("slots", {}))
    if not state.get("codes"):
        return {"filters": filters, "page": []}
    update = await leads_page({**state, "filters": filters}, config, shown=[], size=MORE_PAGE,
                              node="refine")  # fmt: skip
    return {"filters": filters, **update}


_SMALL_TALK = {
    "greeting": (
        "Hi! Tell me an industry (\u201cbakeries\u201d, \u201clogistics in Jurong\u201d) and "
        "I'll find matching companies.",
        "Hello! Which industry are you prospecting today?",
        "Hey there. Name an industry and I'll pull the best leads from the registry.",
    ),
    "thanks": (
        "You're welcome. Say \u201cmore\u201d for the next page or name another industry.",
        "Glad to help! I can also filter these: \u201conly live\u201d, \u201cin Tampines\u201d.",
        "Anytime. Ask \u201chow is my job doing?\u201d to see the background progress.",
    ),
    "bye": (
        "Bye! Your search and its job stay in this thread.",
        "See you. The background job keeps scoring while you're away.",
    ),
    "ack": (
        "Okay. Next: \u201cmore\u201d, a filter (\u201cincorporated after 2015\u201d), or "
        "\u201cwhy #1?\u201d.",
        "Sure. Want the next page (\u201cmore\u201d) or another industry?",
        "Noted. You can ask why a company scored what it did, e.g. \u201cexplain #2\u201d.",
    ),
}
HELP_TEXT = (
    "I find companies in Singapore's registry by industry and score them as leads. Try:\n"
    "- an industry: \u201cbakeries\u201d, \u201cfreight forwarders\u201d, "
    "\u201cIT consultancy\u201d\n"
    "- paging: \u201cmore\u201d, \u201cnext 20\u201d\n"
    "- filters: \u201conly live\u201d, \u201cin Jurong\u201d, \u201cafter 2015\u201d, "
    "\u201ccompanies only\u201d, \u201cat least 3 officers\u201d, \u201conly high scores\u201d, "
    "\u201cscore 70+\u201d, \u201cclear filters\u201d\n"
    "- changes: \u201cwhat about logistics instead?\u201d, \u201calso retail\u201d, "
    "\u201cdrop retail\u201d\n"
    "- \u201chow is my job doing?\u201d, \u201cwhy #3?\u201d"
)
UNCLEAR = (
    "I'm not sure what you'd like me to do. Do you want the next page (\u201cmore\u201d), a "
    "filter (\u201conly live\u201d, \u201cin Jurong\u201d), another industry, or the job's "
    "progress? Nothing was searched or queued."
)


SIZE_TEXT = (
    "The registry holds no headcount or revenue. The closest size signal is the number of "
    "officers (it is part of the score): say \u201cat least 5 officers\u201d, or "
    "\u201ccompanies only\u201d to leave out sole proprietorships."
)
EXPORT_TEXT = (
    "This search's leads download as a CSV file (best first, with UEN, status, industry, "
    "address, area and why each scored what it did): on the product page /app/ choose the "
    "search under Leads and press **Download CSV**, or fetch "
    "`GET /leads/export.csv?search_id={search_id}` (add `&status=all` for companies that "
    "are no longer live)."
)


def small_talk_text(
    kind: str, turn: int, has_search: bool, search_id: int = 0, filters: LeadFilters | None = None
) -> str:
    """Return the answer to small talk: short, varied by turn, pointing at what to do."""
    if kind == "help":
        return HELP_TEXT
    if kind == "size":
        return SIZE_TEXT
    if kind == "export":
        if not has_search:
            return "Search an industry first; then its leads can be taken from the page /app/."
        text = EXPORT_TEXT.format(search_id=search_id)
        words = filter_words(filters or {})
        if words:
            text += f" The file holds the whole search: this thread's filters ({'; '.join(words)}) "
            text += "are not applied to it."
        return text
    if kind == "unclear":
        return UNCLEAR if has_search else "Which industry should I look for? " + HELP_TEXT
    if not has_search:  # nothing to page or filter yet: point at searching
        kind = "greeting"
    options = _SMALL_TALK.get(kind, _SMALL_TALK["ack"])
    return options[turn % len(options)]


async def small_talk(state: State) -> dict[str, Any]:
    """Answer small talk and unclear messages (a question, never a guess that writes)."""
    if state.get("answer"):  # the router already asked its question
        return {}
    kind = str(state.get("slots", {}).get("kind", "unclear"))
    turn = len(state.get("messages", []))
    has_search = bool(state.get("codes"))
    search_id = int(state.get("search_id") or 0)
    filters = state.get("filters", {})
    return {"answer": small_talk_text(kind, turn, has_search, search_id, filters)}
