"""route: read what the latest message asks (``nodes.intents``) and prepare the turn.

A new search goes on to ``normalize`` (the path that may upsert and queue). A changed search
("what about bakeries instead?", "also logistics", "drop retail", "go back") goes the same
way with the request it amounts to in ``search_text``. Every other follow-up (more, refine,
job status, explain, small talk) keeps the active search (terms, codes, counts, job, what
was shown, filters) and goes to its own node, which only reads.
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

from graph.state import State
from nodes.intents import Parsed, message_filters, parse
from nodes.reply_table import missing_rank, no_such_lead, quoted
from nodes.terms import latest_human_text

Next = Literal["normalize", "more_leads", "refine", "job_status", "explain", "small_talk"]
NODES: dict[str, Next] = {
    "search": "normalize",
    "more": "more_leads",
    "refine": "refine",
    "job_status": "job_status",
    "explain": "explain",
    "chat": "small_talk",
}


def no_search() -> dict[str, Any]:
    """Return the state of a thread before its first search (what a follow-up reports)."""
    return {
        "terms": [],
        "codes": [],
        "search_id": None,
        "total": 0,
        "live": 0,
        "head": [],
        "shown": [],
        "job": None,
        "filters": {},
    }


KEPT = (
    "terms",
    "resolutions",
    "codes",
    "search_id",
    "set_aside",
    "total",
    "live",
    "groups",
    "unused",
    "head",
    "job",
    "shown",
    "filters",
    "mode",
    "candidates",
)
"""The fields of the active search a failed new search gives back."""
_PREVIOUS = re.compile(r"^(?:previous|last|earlier|first|other|old|original)(?:\s+\w+)?$")


def _stem(word: str) -> str:
    return re.sub(r"(?:ies|es|s|ers|er|y)$", "", word.strip().lower())


def _same(term: str, said: str) -> bool:
    """Whether the user's words name a term of the search ("bakeries" for "bakery",
    "freight" for "freight forwarders")."""
    have = {_stem(w) for w in term.split()}
    words = {_stem(w) for w in said.split()}
    return bool(words) and words <= have


def _changed_search(state: State, slots: dict[str, Any], text: str) -> dict[str, Any]:
    """Return the turn's update for a new or changed search, or a question (intent chat)."""
    terms: list[str] = state.get("terms", []) if state.get("codes") else []
    op, said = str(slots.get("op", "new")), str(slots.get("terms", ""))
    out: dict[str, Any] = {
        "filters": {},
        "previous_terms": terms or state.get("previous_terms", []),
    }
    if op in ("new", "switch"):  # "bakeries in Jurong": the place filters the next pages
        out["filters"] = message_filters(said or text)
    cleared = " Filters cleared." if state.get("filters") and not out["filters"] else ""
    if op == "like":  # "more like #3": the industry #3 is registered for (normalize reads it)
        shown, rank = state.get("shown", []), int(slots.get("rank") or 0)
        if missing_rank(rank, shown) or rank < 1:
            return _ask(
                no_such_lead(f"#{rank}", shown)
                + " Which lead's industry should I search (\u201cmore like #2\u201d)?"
            )
        return {**out, "like_company": shown[rank - 1]}
    if op == "new":
        # "how many bakeries are there?": search what was asked about, not the question
        return {**out, "search_text": said} if slots.get("count") and said else out
    if op == "back":
        target = [said] if said and not _PREVIOUS.match(said) else state.get("previous_terms", [])
        if not target:
            return _ask(
                "There is no earlier search in this thread to go back to. Which "
                "industry should I search?"
            )
        return _searching(out, target, f"Back to {quoted(target)}.{cleared}")
    if op in ("switch", "add") and not terms:
        return out  # the thread's first search ("I want bakeries"): nothing to switch from
    if op in ("switch", "add") or not terms:
        if op == "remove":
            return _ask(
                f"There is no search to drop {quoted([said])} from yet. Which "
                "industry should I search?"
            )
        new = [*terms, said] if op == "add" and terms else [said]
        verb = "Added" if op == "add" and terms else "Switched to"
        was = f" (was {quoted(terms)})" if op == "switch" and terms else ""
        return _searching(out, new, f"{verb} {quoted([said])}{was}.{cleared}")
    rest = [t for t in terms if not _same(t, said)]
    if len(rest) == len(terms):
        return _ask(
            f"{quoted([said])} is not in the search ({quoted(terms)}). Which "
            "industry should I drop?"
        )
    if not rest:
        return _ask(
            "That would leave no industry in the search. Which industry should I search instead?"
        )
    return _searching(
        out, rest, f"Dropped {quoted([said])}: now searching {quoted(rest)}.{cleared}"
    )


def _searching(out: dict[str, Any], terms: list[str], answer: str) -> dict[str, Any]:
    """Return the update that searches ``terms`` (a changed search) and says so."""
    return {**out, "search_text": ", ".join(terms), "answer": answer}


def _ask(question: str) -> dict[str, Any]:
    """Return the update that answers a changed search with a question (nothing runs)."""
    return {"intent": "chat", "answer": question}


async def route(state: State) -> dict[str, Any]:
    """Decide the intent of the latest message and reset what each turn reports anew."""
    text = latest_human_text(state.get("messages", []))
    parsed = parse(text)
    size_talk = parsed.intent == "chat" and parsed.slots.get("kind") == "size"
    filter_talk = parsed.intent == "refine" and not {"top", "hide"} & set(parsed.slots)
    bare_export = parsed.intent == "chat" and parsed.slots.get("bare")  # "export"
    if (filter_talk or size_talk or bare_export) and not state.get("codes"):
        # Nothing to filter: "businesses in Jurong" or "SMEs" is read as a search (too
        # broad: the question with the main groups).
        parsed = Parsed("search", {"op": "new"})
    out: dict[str, Any] = {
        "intent": parsed.intent,
        "slots": parsed.slots,
        "page": [],
        "page_exact": False,
        "errors": [],
        "answer": "",
        "search_text": "",
        "like_company": None,
        "started_at": time.time(),
    }
    if "codes" not in state:  # a thread's first turn: the results UIs read start empty
        out.update(no_search())
    if parsed.intent == "search":
        out.update(_changed_search(state, parsed.slots, text))
        active: dict[str, Any] = dict(state) if state.get("codes") else {}
        out["kept"] = {k: active[k] for k in KEPT if k in active}
    return out


def route_after_route(state: State) -> Next:
    """Send the turn to the node of its intent."""
    return NODES.get(str(state.get("intent")), "small_talk")
