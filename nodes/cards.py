"""The generative-UI cards a reply carries: leads, search and job (agent-chat-ui renders them).

``cards`` decides from the state which cards a turn shows and with which props (typed by
``graph.state``'s ``LeadsCard``, ``JobCard`` and ``SearchCard``, the one definition of
their field names); ``push_cards`` sends them with ``push_ui_message`` tied to the reply,
so a client shows them under that message. The reply's text stays complete without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.graph.ui import push_ui_message

from db.postal import area_of
from graph.state import JobCard, LeadRow, LeadsCard, SearchCard, SearchGroup, State
from nodes.reply_table import filter_words, page_status

MORE = "more"
"""What the leads card's "more" action sends (the graph pages the active search on it)."""


def lead_row(row: Mapping[str, Any]) -> LeadRow:
    """Return a scored company row (head upsert or a leads page) as the chat shows it."""
    year = row.get("incorporation_year")
    live = row.get("is_live")
    return LeadRow(
        company_id=int(row["company_id"]),
        uen=str(row["uen"]),
        name=str(row["name"]),
        industry_code=row.get("industry_code"),
        industry_norm=row.get("industry_norm"),
        score=int(row["score"]),
        bucket=row["bucket"],
        rationale=str(row["rationale"]),
        status=row.get("status"),
        is_live=None if live is None else bool(live),
        incorporation_year=None if year is None else int(year),
        area=area_of(row.get("postal_code") or row.get("address")) or row.get("address") or None,
    )


def search_card(state: State) -> SearchCard | None:
    """Return the search card of a new search that matched something, else None."""
    groups: list[SearchGroup] = state.get("groups", [])
    if state.get("intent", "search") != "search" or not groups:
        return None
    return SearchCard(
        terms=state.get("terms", []),
        groups=groups,
        unused=state.get("unused", []),
        total=int(state.get("total") or 0),
        live=int(state.get("live") or 0),
        mode=state.get("mode", "background"),
    )


def leads_card(state: State) -> LeadsCard | None:
    """Return the leads card of this turn's companies (the head, or a page of a follow-up)."""
    intent = state.get("intent", "search")
    if intent not in ("search", "more", "refine"):
        return None
    more = intent != "search"
    rows = state.get("page", []) if more else state.get("head", [])
    if not rows:
        return None
    shown = state.get("shown", [])
    job = state.get("job")
    total = int(state.get("total") or 0)
    live = int(state.get("live") or 0)
    filters = state.get("filters", {})
    reachable = {True: live, False: total - live, None: total}[page_status(filters)]
    return LeadsCard(
        terms=state.get("terms", []),
        rows=rows,
        first=max(len(shown) - len(rows), 0) + 1,
        total=total,
        live=live,
        more=MORE if len(shown) < reachable else None,
        job_id=job["job_id"] if job else None,
        # A search's own filters chose its first companies only when head_filtered says so.
        filters=filter_words(filters) if more or state.get("head_filtered") else [],
    )


def job_card(state: State) -> JobCard | None:
    """Return the job card of the job a new search queued (or found already queued).

    ``runs_at``/``eta_seconds`` are the job's (``jobs.timing``, via the enqueue node): the
    next fire of a live scheduler, now, or None when no live process will run it.
    """
    job = state.get("job")
    if state.get("intent", "search") not in ("search", "job_status") or not job:
        return None
    if state.get("slots", {}).get("job_id", job["job_id"]) != job["job_id"]:
        return None  # a job status about another job than the search's
    return JobCard(
        job_id=job["job_id"],
        status=job["status"],
        total=job["total"],
        remaining=job["remaining"],
        created=job["created"],
        runs_at=job.get("runs_at"),
        eta_seconds=job.get("eta_seconds"),
        terms=state.get("terms", []),
    )


def cards(state: State) -> list[tuple[str, Mapping[str, Any]]]:
    """Return the cards of this turn, in the order they show: search, leads, job."""
    out: list[tuple[str, Mapping[str, Any]]] = []
    if (search := search_card(state)) is not None:
        out.append(("search", search))
    if (leads := leads_card(state)) is not None:
        out.append(("leads", leads))
    if (job := job_card(state)) is not None:
        out.append(("job", job))
    return out


def push_cards(state: State, reply: AIMessage) -> None:
    """Push this turn's cards to the stream and the state's ``ui``, tied to the reply."""
    for name, props in cards(state):
        push_ui_message(name, dict(props), message=reply)
