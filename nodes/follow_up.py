"""Follow-ups on the active search: paging and refining what is shown, and small talk. None
of them queues anything.

* ``refine`` merges the message's filters into the thread's (or removes them) and shows the
  first page of the search's leads under them, best first;
* ``leads_page`` is the one read both ``more_leads`` and ``refine`` page with. While the
  search's job has not scored every match yet (queued for tonight, running, failed), it
  first scores the true best live companies down to the page's last place under the
  thread's filters (``score_ahead``), so the page is the registry's next best at once, not
  the best of what happens to be scored so far;
* ``small_talk`` answers greetings, thanks, help and unclear messages with a short, varied
  line that points at what the user can do.
"""

from __future__ import annotations

import re
from typing import Any, cast
from urllib.parse import urlencode

from langchain_core.runnables import RunnableConfig
from psycopg import AsyncConnection
from psycopg.errors import DeadlockDetected

from config import links
from config.settings import get_settings
from db.companies import scored_leads_page
from db.pool import autocommit
from graph.state import LeadFilters, LeadRow, State
from jobs.logs import log_event
from jobs.queue import get_job
from nodes.cards import lead_row
from nodes.context import budget_s, budgeted_connection, failed_step, tenant_of
from nodes.head_upsert import head_filters, icp_codes, upsert_within
from nodes.reply_table import filter_words, missing_rank, n, no_such_lead, page_status, quoted
from nodes.terms import MORE_PAGE

CLEARED = {
    "live": ("live",),
    "years": ("year_min", "year_max"),
    "place": ("places", "sectors"),
    "entity": ("entity",),
    "officers": ("min_officers",),
    "score": ("min_score", "max_score"),
    "hidden": ("hidden",),
}


SCORE_AHEAD_MAX = 200
"""The deepest place a page scores ahead of the search's job (shown + page size): the head's
read grows with it, and past it the page is the best of what is scored (the reply says so)."""


async def score_ahead(
    conn: AsyncConnection[Any], state: State, config: RunnableConfig, *, depth: int
) -> bool:
    """Score the search's true best ``depth`` live companies under the thread's filters (the
    head's statement with a deeper limit; the minimum score applies when the page is read),
    so the scored leads hold the registry's best down to that place. Return whether it did:
    not past ``SCORE_AHEAD_MAX``, and not when the read outlasts half the budget or meets
    the job's batch in a deadlock (then the page is the best of what is scored)."""
    filters = head_filters(state)
    filters.pop("min_score", None)
    filters.pop("max_score", None)
    budget_ms = int(budget_s() * 500)
    try:  # committed (autocommit connection), or nothing on failure
        rows = await upsert_within(
            conn,
            "head_filtered_source" if filters else "head_source",
            icp_codes(state.get("codes", [])),
            tenant=tenant_of(config),
            search_id=int(state.get("search_id") or 0),
            limit=depth,
            filters=filters,
            ms=budget_ms,
        )
        reason = "QueryCanceled" if rows is None else ""
    except DeadlockDetected:
        reason = "DeadlockDetected"
    if reason:
        log_event("score_ahead_skipped", stage="chat", depth=depth, reason=reason, ms=budget_ms)
    return not reason


async def leads_page(
    state: State, config: RunnableConfig, *, shown: list[int], size: int, node: str
) -> dict[str, Any]:
    """Return the state update of a page: the search's next best leads under the thread's
    filters, leaving out ``shown`` (or the error, told to the user). ``page_exact``: the page
    is the registry's next best (every match is scored, or it scored ahead of the job)."""
    job = state.get("job")
    filters = state.get("filters", {})
    status = page_status(filters)
    update: dict[str, Any] = {}
    exact = True
    try:
        async with budgeted_connection() as conn:
            # Single statements, and the scoring ahead commits in a transaction of its own.
            await autocommit(conn)
            if job and job["status"] != "done":
                # The job may have finished since: read its status (and what it has left).
                live = await get_job(conn, job["job_id"], tenant_of(config))
                if live:
                    left = int(live["total"] or 0) - int(live["processed"] or 0)
                    left = max(min(left, job["remaining"]), 0)
                    job = {**job, "status": live["status"], "remaining": left}
                    update["job"] = job
                if job["status"] != "done":
                    depth = len(shown) + size + len(filters.get("hidden", []))
                    exact = (
                        status is True  # the head's statements read live companies only
                        # Under a maximum score ("just the medium ones") the page lies below
                        # an unknown number of higher scores: the best of those scored so far.
                        and "max_score" not in filters
                        and bool(state.get("search_id"))
                        and depth <= SCORE_AHEAD_MAX
                        and await score_ahead(conn, state, config, depth=depth)
                    )
            rows = await scored_leads_page(
                conn,
                tenant_id=tenant_of(config),
                search_id=int(state.get("search_id") or 0),  # 0: nothing scored (no rows)
                shown=shown,
                limit=size,
                filters={**filters, "live": status},
            )
    except Exception as exc:  # reported once and told to the user
        error = await failed_step("Reading the leads", exc, config, node=node)
        return {"page": [], "errors": [error]}
    page: list[LeadRow] = [lead_row(r) for r in rows]
    return {
        **update,
        "page": page,
        "shown": [*shown, *(r["company_id"] for r in page)],
        "page_exact": exact,
    }


def hidden_ids(state: State, ranks: list[int]) -> list[int] | str:
    """Return the company ids of the thread's ranks ("hide #2 and #5"; -1 the last), or the
    answer naming a rank the thread's list does not have."""
    shown = state.get("shown", [])
    bad = [r for r in ranks if missing_rank(r, shown)]
    if bad or not ranks:
        return no_such_lead(f"#{bad[0]}" if bad else "that lead", shown) + (
            " Nothing was hidden; say e.g. \u201chide #2\u201d with a number from the table."
        )
    return [shown[r - 1 if r > 0 else -1] for r in ranks]


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
    if "min_score" in new or "max_score" in new:  # the newest score words name the range
        out.pop("min_score", None)
        out.pop("max_score", None)
    if "year_min" in new and "year_max" not in new and out.get("year_max", 9999) < new["year_min"]:
        out.pop("year_max")  # "after 2015" after "before 2000": the newer words win
    if "year_max" in new and "year_min" not in new and out.get("year_min", 0) > new["year_max"]:
        out.pop("year_min")
    if "hidden" in new:  # "hide #2" after "hide #5": both stay hidden
        new["hidden"] = sorted({*out.get("hidden", []), *new["hidden"]})
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
    """Apply the message's filters to the active search and show its best leads under them
    (the first ``top`` of them when the message asked for a number: "top 5")."""
    slots = state.get("slots", {})
    if "hide" in slots and state.get("codes"):
        hidden = hidden_ids(state, slots["hide"])
        if isinstance(hidden, str):  # no such rank: nothing changes
            return {"answer": hidden}
        slots = {**slots, "filters": {"hidden": hidden}}
    filters = merged_filters(state.get("filters", {}), slots)
    if not state.get("codes"):
        return {"filters": filters, "page": []}
    size = int(state.get("slots", {}).get("top") or MORE_PAGE)  # "top 5"
    update = await leads_page({**state, "filters": filters}, config, shown=[], size=size,
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
CONTACT_TEXT = (
    "The registry (ACRA's open data) holds no people, phone numbers, emails or websites: "
    "for each company it has the UEN, registered address, status, industry, incorporation "
    "date and the number of officers. With a lead's UEN, ACRA's BizFile+ sells its business "
    "profile (officers and shareholders by name); the registered address is in the CSV "
    "(\u201cexport these\u201d)."
)
SORT_TEXT = (
    "The leads are always ranked by their score, best first: the score is the ranking. To "
    "narrow them instead, say \u201cincorporated after 2020\u201d, \u201cin the last 5 "
    "years\u201d or \u201colder than 10 years\u201d (age), \u201cin Jurong\u201d "
    "(place), or \u201conly high scores\u201d."
)
SCORING_TEXT = (
    "A lead's score (0\u2013100) is industry fit plus what the registry says about the "
    "company:\n"
    "- **Fit**: 35\u201345 when its main (primary) SSIC code is one of the search's codes, "
    "20\u201330 when only its secondary code is; more when your words matched the code "
    "squarely.\n"
    "- **Recent annual return**: up to 20 (filed this month; 1 less per 2 months since).\n"
    "- **Officers** (a size signal): 1 each, up to 12.\n"
    "- **Age**: 1 per year since registration, up to 10.\n"
    "- **Entity type**: local company 8, foreign branch 6, LLP 5, limited partnership 4, "
    "others 2.\n"
    "- **Full registered address**: 5 (partial 2).\n\n"
    "A company that is no longer live is capped at 20. **High** is 85 or more, **medium** "
    "65\u201384, **low** 64 or less. Ask \u201cwhy #1?\u201d for one lead's factors."
)
EXPORT_TEXT = (
    "This search's leads as a CSV file, best first, with UEN, status, industry, address, "
    "area and why each scored what it did{under}: **[Download the CSV]({url})**{expiry}. "
    "The product page /app/ has them too: choose the search under Leads and press "
    "**Download CSV** (the search's live leads, no other filters)."
)
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(?::[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?$")


def export_params(search_id: int, filters: LeadFilters) -> list[tuple[str, str]]:
    """Return the query of a search's file under a thread's filters (GET /leads/export.csv)."""
    params = [("search_id", str(search_id))]
    status = page_status(filters)
    if status is not True:
        params.append(("status", "all" if status is None else "inactive"))
    for key in ("year_min", "year_max", "min_officers", "min_score", "max_score"):
        if key in filters:
            params.append((key, str(filters[key])))
    if filters.get("sectors"):
        params.append(("sectors", ",".join(filters["sectors"])))
    if filters.get("entity"):
        params.append(("entity", str(filters["entity"])))
    if filters.get("hidden"):
        params.append(("hidden", ",".join(map(str, filters["hidden"]))))
    return params


def public_base(config: RunnableConfig | None) -> str:
    """Return the API's address as the user's browser reaches it: ``ICP_PUBLIC_URL``, else
    the run request's own (its forwarded or Host header, which langgraph.json passes to
    runs), else "" (an in-process run: the link stays relative)."""
    settings = get_settings()
    if settings.public_url:
        return settings.public_url
    given: Any = (config or {}).get("configurable") or {}
    host = str(given.get("x-forwarded-host") or given.get("host") or "").split(",")[0].strip()
    proto = str(given.get("x-forwarded-proto") or "http").split(",")[0].strip().lower()
    if not _HOST.match(host) or proto not in ("http", "https"):
        return ""
    return f"{proto}://{host}"


def export_link(search_id: int, filters: LeadFilters, config: RunnableConfig | None) -> str:
    """Return the link of a search's file under a thread's filters: absolute where the
    API's address is known, and signed for the run's tenant when auth is on (a clicked link
    carries no token; ``config.links``)."""
    settings = get_settings()
    params = export_params(search_id, filters)
    if settings.auth_jwt_secret:
        query = links.sign(
            params,
            tenant=tenant_of(config),
            secret=settings.auth_jwt_secret,
            ttl_s=settings.auth_jwt_max_ttl_s,
        )
    else:
        query = urlencode(params, safe=",")
    return f"{public_base(config)}{links.EXPORT_PATH}?{query}"


def export_text(state: State, config: RunnableConfig | None) -> str:
    """Return the answer to "export these": the thread's filtered leads as a file link."""
    if not state.get("codes"):
        return "Search an industry first; then its leads can be taken from the page /app/."
    filters = state.get("filters", {})
    words = filter_words(filters)
    under = f", under this thread's filters ({'; '.join(words)})" if words else ""
    ttl = get_settings().auth_jwt_max_ttl_s
    hours = f"{ttl // 3600} hours" if ttl >= 7200 else f"{max(ttl // 60, 1)} minutes"
    expiry = f" (the link works for {hours})" if get_settings().auth_jwt_secret else ""
    url = export_link(int(state.get("search_id") or 0), filters, config)
    return EXPORT_TEXT.format(url=url, under=under, expiry=expiry)


def count_text(state: State) -> str:
    """Return the answer to "how many are there?": the search's counts and the thread's."""
    if not state.get("codes"):
        return "Search an industry first; then I can tell you how many companies match it."
    total, live = int(state.get("total") or 0), int(state.get("live") or 0)
    shown = len(state.get("shown", []))
    words = filter_words(state.get("filters", {}))
    under = f" under this thread's filters ({'; '.join(words)})" if words else ""
    text = (
        f"{n(total)} {'company' if total == 1 else 'companies'} in the registry match "
        f"{quoted(state.get('terms', []))}, {n(live)} of them live. This thread has shown "
        f"{n(shown)} so far{under}: say \u201cmore\u201d for the next ones"
    )
    if total > live:
        text += ", or \u201cinclude inactive\u201d for those no longer live"
    return text + "."


def small_talk_text(kind: str, turn: int, has_search: bool) -> str:
    """Return the answer to small talk: short, varied by turn, pointing at what to do."""
    if kind == "help":
        return HELP_TEXT
    if kind == "size":
        return SIZE_TEXT
    if kind == "contact":
        return CONTACT_TEXT
    if kind == "sort":
        return SORT_TEXT
    if kind == "scoring":
        return SCORING_TEXT
    if kind == "unclear":
        return UNCLEAR if has_search else "Which industry should I look for? " + HELP_TEXT
    if not has_search:  # nothing to page or filter yet: point at searching
        kind = "greeting"
    options = _SMALL_TALK.get(kind, _SMALL_TALK["ack"])
    return options[turn % len(options)]


async def small_talk(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Answer small talk and unclear messages (a question, never a guess that writes)."""
    if state.get("answer"):  # the router already asked its question
        return {}
    kind = str(state.get("slots", {}).get("kind", "unclear"))
    if kind == "export":
        return {"answer": export_text(state, config)}
    if kind == "count":
        return {"answer": count_text(state)}
    turn = len(state.get("messages", []))
    return {"answer": small_talk_text(kind, turn, bool(state.get("codes")))}
