"""respond: write the reply a salesperson reads and push the turn's cards.

The text is complete markdown on its own (SDK scripts, Studio, clients without
generative UI): the headline, a table of the companies shown and what the job does.
agent-chat-ui also renders the leads, search and job cards (``nodes.cards``) under it.
"""

from __future__ import annotations

import time
from typing import Any, cast
from uuid import uuid4

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig

from graph.state import Clarification, LeadFilters, State
from jobs.metrics import observe_chat_reply
from nodes.cards import push_cards
from nodes.context import failed_step
from nodes.follow_up import kept_filters, restored, still_on
from nodes.head_upsert import head_filters
from nodes.reply_table import compose_page, filter_words, leads_table, quoted, score_range
from nodes.resolve import display_title

HELP = (
    "Tell me an industry and I'll find matching companies in the registry, for example "
    "\u201cManufacturing\u201d, \u201cbakery, restaurants\u201d or \u201cindustry: logistics\u201d."
)
LEVEL_NAMES = {
    "section": "SSIC section",
    "division": "SSIC division",
    "group": "SSIC group",
    "class": "SSIC class",
    "subclass": "SSIC",
    "phrase": "SSIC",
}


def _n(value: int) -> str:
    return f"{value:,}"


def _plural(n: int, word: str) -> str:
    return f"{_n(n)} {word}{'' if n == 1 else 'es' if word.endswith('s') else 's'}"


# Places that only restate the registry's scope: not worth a "not applied" note.
_SCOPE = frozenset({"singapore", "singapura", "sg", "s'pore", "spore"})
_QUALIFIER_KINDS = ("location", "date", "size", "status", "score", "qualifier")
# The kind of message words each filter of the first companies stands for.
_FILTER_KIND = {
    "year_min": "date",
    "year_max": "date",
    "sectors": "location",
    "entity": "qualifier",
    "min_officers": "size",
    "min_score": "score",
    "max_score": "score",
}
MAX_OPTIONS_INLINE = 6


def _label(term: str) -> str:
    """Return a term as a heading: "IT", "F&B", "Software"."""
    words = term.split()
    shown = [w.upper() if w == "it" or "&" in w else w for w in words]
    text = " ".join(shown)
    return text[:1].upper() + text[1:]


def _said(res: dict[str, Any]) -> str:
    """Return the term as the match read it: with a leading word it set aside ("kedai makan").

    Trailing generic nouns stay out ("software companies" is shown as "Software").
    """
    term, phrase, text = str(res["term"]), str(res.get("phrase") or ""), str(res.get("text") or "")
    return phrase if phrase != term and phrase.endswith(" " + term) and phrase in text else term


def _group(g: dict[str, Any]) -> str:
    title = display_title(str(g.get("title", "")))
    what = f"{LEVEL_NAMES.get(str(g.get('level')), 'SSIC')} {g.get('code')} \u201c{title}\u201d"
    count = int(g.get("count", 0))
    return what if g.get("level") == "subclass" else f"{what} ({_plural(count, 'code')})"


def _term_line(res: dict[str, Any]) -> str:
    """Return one matched term with every SSIC group it brings, official titles and counts."""
    groups = res.get("groups", [])
    shown = "; ".join(_group(g) for g in groups)
    count = int(res.get("count", 0))
    if len(groups) > 1:
        shown = f"{_plural(count, 'code')}: {shown}"
    elif groups and groups[0].get("level") == "subclass":
        shown += " (1 code)"
    line = f"{_label(_said(res))} \u2192 {shown}"
    if res.get("how") == "typo":
        line += f" (read as \u201c{res.get('phrase', '')}\u201d)"
    return line


def _matched(resolutions: list[dict[str, Any]]) -> str:
    lines = [_term_line(r) for r in resolutions if r.get("groups")]
    if len(lines) == 1:
        return lines[0] + "."
    return "Matched industries:\n" + "\n".join(f"- {line}" for line in lines)


def _options(clarify: Clarification, limit: int | None = None) -> list[str]:
    shown = clarify["options"][:limit] if limit else clarify["options"]
    return [f"{display_title(str(o['title']))} (SSIC {o['level']} {o['code']})" for o in shown]


def question(clarify: Clarification) -> str:
    """Return the question a too-broad request gets: the main groups to choose from."""
    words = ", ".join(f"\u201c{t}\u201d" for t in clarify["terms"])
    options = "\n".join(f"- {o}" for o in _options(clarify))
    return (
        f"{words} {'is' if len(clarify['terms']) == 1 else 'are'} too broad to search. "
        f"Which kind do you mean? The main groups are:\n{options}\n\n"
        "Reply with one or more of these, or a narrower word (for example "
        "\u201clogistics, IT consultancy\u201d). Nothing was searched or queued."
    )


def _notes(state: State) -> list[str]:
    """Return what the search did not use: broad words, unmatched terms, words, qualifiers."""
    notes: list[str] = []
    resolutions = state.get("resolutions", [])
    unmatched = [r["text"] for r in resolutions if not r.get("groups") and r.get("how") != "broad"]
    if unmatched:
        quoted = ", ".join(f"\u201c{t}\u201d" for t in unmatched)
        verb = "was" if len(unmatched) == 1 else "were"
        notes.append(f"{quoted} matched no SSIC industry and {verb} left out.")
    clarify = state.get("clarify")
    if clarify:
        words = ", ".join(f"\u201c{t}\u201d" for t in clarify["terms"])
        groups = "; ".join(_options(clarify, MAX_OPTIONS_INLINE))
        notes.append(f"{words} is too broad and was left out: say which kind (e.g. {groups}).")
    parts = state.get("set_aside", [])
    yours = [p for p in parts if p.get("kind") == "yours"]
    if yours:
        words = ", ".join(f"\u201c{p.get('text')}\u201d" for p in yours)
        notes.append(f"Read as what you sell, not as the industry to search: {words}.")
    unused = [p for p in parts if p.get("kind") == "unused"]
    if unused:
        words = ", ".join(f"\u201c{p.get('text')}\u201d" for p in unused)
        notes.append(f"Words not used: {words}.")
    pending = [
        p
        for p in parts
        if p.get("kind") in _QUALIFIER_KINDS
        and not (p.get("kind") == "location" and p.get("value") in _SCOPE)
    ]
    applied = head_filters(state) if state.get("head_filtered") else {}
    if applied:  # the message's filters chose the table's companies (nodes/head_upsert.py)
        given = state.get("filters", {})
        words = "; ".join(filter_words(cast(LeadFilters, {k: v for k, v in given.items()
                                                           if k != "live"})))  # fmt: skip
        if state.get("head"):
            note = (
                f"The table holds the best live companies matching **{words}**; the counts "
                "above cover every match. The filters stay for the next pages."
            )
        elif "max_score" in applied:  # the best scored above the range: lower ones may match
            note = (
                f"None of the best {_n(int(state.get('head_scored') or 0))} matches "
                f"**{words}**: say \u201cmore\u201d for the best scored leads in that range. "
                "The filters stay for the next pages."
            )
        else:
            note = (
                f"No live company of these industries matches **{words}**. The filters stay "
                f"for the next pages; change them ({_wider(applied)}) to see more."
            )
        notes.append(note)
        covered = {_FILTER_KIND[k] for k in applied} | ({"status"} if "live" in given else set())
        pending = [p for p in pending if p.get("kind") not in covered]
    if pending:
        items = ", ".join(f"\u201c{p.get('text')}\u201d ({p.get('kind')})" for p in pending)
        notes.append(
            f"Not applied yet: {items}; these counts cover all of them. " + kept_filters(state)
        )
    return notes


def _wider(applied: dict[str, Any]) -> str:
    """Return examples of follow-ups that widen the filters a search's head was chosen by."""
    tips = ["any score"] if "min_score" in applied or "max_score" in applied else []
    tips += ["anywhere", "any age"][: 2 - len(tips)]
    return ", ".join(f"\u201c{t}\u201d" for t in tips)


def compose(state: State) -> str:
    """Return the reply text for the state the earlier nodes produced."""
    intent = state.get("intent", "search")
    if intent in ("more", "refine"):  # a refinement that changed nothing says why instead
        return state.get("answer") or compose_page(state)
    if intent != "search":  # job status, explain, small talk: their node wrote the answer
        return state.get("answer") or HELP
    lead_in = state.get("answer")  # what a changed search changed ("Switched to ...")
    text = _compose_search(state)
    return f"{lead_in}\n\n{text}" if lead_in else text


def _compose_search(state: State) -> str:
    terms = state.get("terms", [])
    errors = state.get("errors", [])
    resolutions = state.get("resolutions", [])
    if not terms and not resolutions:
        return HELP
    codes = state.get("codes", [])
    clarify = state.get("clarify")
    if not codes:
        if errors:
            return " ".join(errors) + " Please try again in a moment."
        if clarify:
            return question(clarify)
        return f"I couldn't match {quoted(terms)} to an industry in SSIC 2020. " + HELP
    matched = _matched(resolutions)
    notes = _notes(state)
    mode = state.get("mode", "background")
    if mode == "off":
        return "\n\n".join(
            [
                matched,
                "Registry search is switched off for your workspace, so nothing was looked up.",
                *notes,
            ]
        )
    if "total" in state and state["total"] is None:  # the count failed: never "0 companies"
        return "\n\n".join([matched, " ".join(errors) or "Counting failed.", *notes])
    total = int(state.get("total") or 0)
    live = int(state.get("live") or 0)
    head = state.get("head", [])
    job = state.get("job")
    count = (
        f"{_n(total)} {'company' if total == 1 else 'companies'} in the registry ({_n(live)} live)."
    )
    lines = [matched, count]
    if mode == "sync_preview":
        sample = state.get("candidates", [])
        names = ", ".join(str(c["name"]) for c in sample[:5])
        lines.append("Preview only (nothing saved)" + (f": {names}\u2026" if names else "."))
    elif total == 0:
        lines.append("No registry companies carry these codes yet.")
    else:
        parts: list[str] = []
        scored = max(int(state.get("head_scored") or 0), len(head))
        if scored:
            best = f"the best {_n(scored)}" if scored > 1 else "the best one"
            top = ", ".join(f"{h['name']} ({h['score']})" for h in head[:3])
            top = f" (top: {top})" if top else ""
            if scored > len(head):  # a minimum score left some out of the table
                given = state.get("filters", {})
                band = score_range(given.get("min_score"), given.get("max_score"))
                reach = f"{_n(len(head))} of them" if head else "none"
                top = f"; {reach} {'scores' if len(head) == 1 else 'score'} {band}{top}"
            parts.append(f"Scored {best} now{top}.")
        if job:
            rest = job["remaining"]
            verb = "are" if rest != 1 else "is"
            lead = f"{'The other' if scored else 'All'} {_n(rest)} {verb}"
            # "when" comes from jobs.timing: the scheduler's real next fire, "now", or the
            # honest "nothing runs it" (never a promised run no process will make).
            when = job.get("when")
            if not job["created"] and job["status"] == "done":
                others = "the others" if scored else "them"
                parts.append(
                    f"All of {others} are already scored by job {job['job_id']} (done since the "
                    "registry last changed): say \u201cmore\u201d for the next ones."
                )
            elif job["created"]:
                resumed = job.get("resumed_from")
                again = f", resuming job {resumed} where it stopped" if resumed else ""
                tail = f"; it {when}" if when else ""
                parts.append(f"{lead} queued as job {job['job_id']}{again}{tail}.")
            elif when:
                parts.append(f"{lead} already in job {job['job_id']}, which {when}.")
            else:
                parts.append(f"{lead} already in job {job['job_id']} ({job['status']}).")
        lines[1] = " ".join([count, *parts])
        if head:
            lines.append(leads_table(head))
    lines += notes
    if errors:
        lines.append(" ".join(errors))
    return "\n\n".join(lines)


async def respond(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Append the assistant's reply with its cards and record the time to reply."""
    try:
        text = compose(state)
    except Exception as exc:  # reported once; the user still gets an answer
        text = await failed_step("Writing the reply", exc, config, node="respond")
    back = restored(state)  # a failed new search keeps the active one
    if back:
        text += "\n\n" + still_on(back)
    reply = AIMessage(content=text, id=str(uuid4()))
    try:
        push_cards(state, reply)
    except Exception as exc:  # the text stands alone: a card that fails is reported, not fatal
        await failed_step("Showing the cards", exc, config, node="respond")
    started = state.get("started_at")
    if started:
        observe_chat_reply(max(time.time() - started, 0.0))
    return {"messages": [reply], **back}
