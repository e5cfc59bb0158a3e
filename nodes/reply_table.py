"""The markdown a reply shows: the companies table, the filters in force, a page's text.

Complete on its own (SDK scripts, Studio, clients without the cards): agent-chat-ui renders
the table compactly, one row per company with its area's name, not the full address.
"""

from __future__ import annotations

from collections.abc import Sequence

from db.companies import BUCKET_MIN
from db.postal import describe_sectors
from graph.state import JobInfo, LeadFilters, LeadRow, State

TEXT_ROWS = 20
"""Companies listed in the text reply; a longer page is in the leads card and on /app/."""
STATUS_WORDS = {
    True: "live only",
    False: "no longer live only",
    None: "any status (live or not)",
}
ENTITY_WORDS = {
    "company": "companies only (no sole proprietorships)",
    "sole": "sole proprietorships and partnerships only",
    "partnership": "limited (liability) partnerships only",
}


def n(value: int) -> str:
    """Return a count with thousands separators."""
    return f"{value:,}"


def quoted(terms: list[str]) -> str:
    """Return terms quoted and comma-separated."""
    return ", ".join(f"\u201c{t}\u201d" for t in terms)


def _cell(value: object) -> str:
    text = "" if value is None else " ".join(str(value).split())
    return text.replace("|", "\\|") or "\u2013"


def leads_table(rows: list[LeadRow], first: int = 1) -> str:
    """Return companies as a markdown table (at most TEXT_ROWS; the rest is counted)."""
    lines = [
        "| # | Company | UEN | Score | Status | Est. | Area |",
        "|--:|---|---|--:|---|--:|---|",
    ]
    for rank, row in enumerate(rows[:TEXT_ROWS], start=first):
        cells = [
            str(rank),
            row["name"],
            row["uen"],
            f"{row['score']} {row['bucket']}",
            row.get("status"),
            row.get("incorporation_year"),
            row.get("area"),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if len(rows) > TEXT_ROWS:
        rest = len(rows) - TEXT_ROWS
        lines.append(f"\n\u2026 and {n(rest)} more in the leads card and on the page /app/.")
    return "\n".join(lines)


def page_status(filters: LeadFilters) -> bool | None:
    """Return which statuses the thread's pages hold: True live only (the default, as on
    /leads), False only those no longer live, None any status."""
    return filters.get("live", True)


def score_range(least: int | None, most: int | None) -> str:
    """Return a score range as people say it ("85 or more", "65–84", "64 or less")."""
    if least is not None and most is not None:
        return f"{least}" if least == most else f"{least}–{most}"
    return f"{most} or less" if least is None else f"{least} or more"


def score_words(least: int | None, most: int | None = None) -> str:
    """Return a score filter as people say it ("score 85 or more (high)", "score 65–84
    (medium)")."""
    high, medium = BUCKET_MIN["high"], BUCKET_MIN["medium"]
    bucket = {
        (high, None): " (high)",
        (medium, None): " (high and medium)",
        (medium, high - 1): " (medium)",
        (None, medium - 1): " (low)",
    }
    return f"score {score_range(least, most)}{bucket.get((least, most), '')}"


def filter_words(filters: LeadFilters) -> list[str]:
    """Return each filter in force as people say it ("live only", "in Jurong (...)")."""
    words: list[str] = []
    if "live" in filters:
        live = filters["live"]
        words.append(STATUS_WORDS[live])
    lo, hi = filters.get("year_min"), filters.get("year_max")
    if lo is not None and hi is not None:
        words.append(f"incorporated in {lo}" if lo == hi else f"incorporated {lo}\u2013{hi}")
    elif lo is not None:
        words.append(f"incorporated {lo} or later")
    elif hi is not None:
        words.append(f"incorporated {hi} or earlier")
    if filters.get("places"):
        places = " or ".join(p if p.startswith(("district", "postal")) else _place_name(p)
                             for p in filters["places"])  # fmt: skip
        words.append(f"in {places} ({describe_sectors(filters.get('sectors', []))})")
    if "entity" in filters:
        words.append(ENTITY_WORDS[filters["entity"]])
    if "min_officers" in filters:
        count = filters["min_officers"]
        words.append(f"at least {count} officer{'' if count == 1 else 's'}")
    if "min_score" in filters or "max_score" in filters:
        words.append(score_words(filters.get("min_score"), filters.get("max_score")))
    if filters.get("hidden"):
        count = len(filters["hidden"])
        words.append(f"{count} lead{'' if count == 1 else 's'} you hid left out")
    return words


def missing_rank(rank: int, shown: Sequence[int]) -> bool:
    """Whether the thread's list has no lead at ``rank`` (-1: the last one)."""
    return not (1 <= rank <= len(shown) or (rank == -1 and bool(shown)))


def no_such_lead(which: str, shown: Sequence[int]) -> str:
    """Return the sentence saying the thread's list has no ``which`` ("#12")."""
    leads = f"{len(shown)} lead{'' if len(shown) == 1 else 's'}"
    return f"There is no {which} in this thread's list: it has {leads}."


def filters_line(filters: LeadFilters) -> str:
    """Return the reply's line naming the filters in force (empty without any)."""
    words = filter_words(filters)
    return f"**Filters:** {'; '.join(words)}." if words else ""


def compose_page(state: State) -> str:
    """Return the reply to "more" or a refinement: the page, the filters, or why it is empty."""
    terms = state.get("terms", [])
    if not state.get("codes"):
        return (
            "There is no search to continue yet. Tell me an industry first, for example "
            "\u201cManufacturing\u201d or \u201cbakeries\u201d."
        )
    errors = " ".join(state.get("errors", []))
    if errors:
        return f"{errors} Please try again in a moment."
    page = state.get("page", [])
    shown = state.get("shown", [])
    filters = state.get("filters", {})
    line = filters_line(filters)
    status = page_status(filters)
    if not page:
        live_word = "live " if status is True else ""
        if "min_score" in filters or "max_score" in filters:
            return "\n\n".join(filter(None, [removed(state), _no_score(state), line]))
        if set(filters) - {"live"} or status is not True:
            beyond = f" beyond the {n(len(shown))} shown" if shown else ""
            text = f"No{' more' if shown else ''} {live_word}scored leads for {quoted(terms)} "
            text += "match these "
            text += f"filters{beyond}."
        elif state.get("intent") == "refine":
            text = f"Filters cleared, but there are no {live_word}scored leads for "
            text += f"{quoted(terms)} yet."
        else:
            text = f"No more {live_word}scored leads for {quoted(terms)} beyond the "
            text += f"{n(len(shown))} shown."
        pending = pending_job(state)
        if pending:
            text += f" Job {pending['job_id']} scores the rest; ask again once it has run."
        else:
            if set(filters) - {"live"}:
                text += " Say \u201cclear filters\u201d (or e.g. \u201canywhere\u201d) to widen it."
            if status is True and int(state.get("total") or 0) > int(state.get("live") or 0):
                text += f" {inactive_hint(state)}"
        return "\n\n".join(filter(None, [removed(state), text, line]))
    first = len(shown) - len(page) + 1
    total = int(state.get("total") or 0)
    which = "matching leads" if set(filters) - {"live"} else "scored companies"
    which = {True: f"live {which}", False: f"{which} no longer live", None: which}[status]
    lead = "More leads"
    if state.get("intent") == "refine" and state.get("slots", {}).get("hide"):
        lead = "Leads"  # after "Hid it." (removed())
    elif state.get("intent") == "refine" and state.get("slots", {}).get("top"):
        lead = "Top filtered leads" if set(filters) - {"live"} else "Top leads"
    elif state.get("intent") == "refine":
        lead = "Filtered leads" if filters else "No filters: all live leads"
    live = int(state.get("live") or 0)
    head = (
        f"{lead} for {quoted(terms)}: {n(first)}\u2013{n(len(shown))} of the {which}, best "
        f"first ({n(total)} {'company' if total == 1 else 'companies'} match the industries, "
        f"{n(live)} live)."
    )
    tips = ["include inactive" if status is True else "only live"]
    tips.append("anywhere" if filters.get("places") else "in Jurong")
    tips.append("any age" if "year_min" in filters or "year_max" in filters else "after 2015")
    tips.append(
        "any score" if "min_score" in filters or "max_score" in filters else "only high scores"
    )
    if filters.get("hidden"):
        tips.append("show hidden")
    tail = f"Say \u201cmore\u201d for the next page, or refine: {quoted(tips)}."
    pending = pending_job(state)
    if pending:  # the best of what is scored so far, not of every match: say so
        left = int(pending.get("remaining") or 0)
        rest = f"{n(left)} matching {'company' if left == 1 else 'companies'}"
        head += f" Job {pending['job_id']} is still scoring {rest}, so these are the best of "
        head += "those scored so far."
    return "\n\n".join(filter(None, [removed(state), head, line, leads_table(page, first), tail]))


def pending_job(state: State) -> JobInfo | None:
    """Return the search's job when the page is only the best of what it has scored so far:
    the job has not finished and the page could not score ahead of it (``page_exact``)."""
    job = state.get("job")
    if job and job["status"] in ("queued", "running") and not state.get("page_exact"):
        return job
    return None


def _no_score(state: State) -> str:
    """Return why a page under a score filter is empty: none scored in its range yet (the
    job still scores the rest), or none of the search's scored leads is in it."""
    filters = state.get("filters", {})
    shown = state.get("shown", [])
    least, most = filters.get("min_score"), filters.get("max_score")
    live_word = "live " if page_status(filters) is True else ""
    others = set(filters) - {"live", "min_score", "max_score"}
    under = " under the other filters" if others else ""
    more = f" beyond the {n(len(shown))} shown" if shown else ""
    terms = quoted(state.get("terms", []))
    text = f"No{' more' if shown else ''} {live_word}scored leads for {terms}"
    text += f" scoring {score_range(least, most)}{under}{more}"
    job = pending_job(state)
    if job:
        left = int(job.get("remaining") or 0)
        rows = f"{n(left)} matching {'company is' if left == 1 else 'companies are'}"
        text += f" yet; {rows} still being scored by job {job['job_id']}: ask again once it "
        text += "has run."
    else:
        text += "."
    wider = "\u201cany score\u201d"
    if most is None and (least or 0) > BUCKET_MIN["medium"]:
        wider = f"\u201chigh and medium only\u201d or {wider}"
    return f"{text} Say {wider} to widen it."


def inactive_hint(state: State) -> str:
    """Return the sentence offering the companies that are no longer live (left out)."""
    total = int(state.get("total") or 0)
    gone = total - int(state.get("live") or 0)
    return (
        f"{n(gone)} of the {n(total)} companies of these industries "
        f"{'is' if gone == 1 else 'are'} no longer live and left out: say "
        "\u201cinclude inactive\u201d to see them too."
    )


CLEARED_WORDS = {
    "all": "all filters",
    "live": "the status filter",
    "years": "the incorporation-year filter",
    "place": "the place filter",
    "entity": "the entity-type filter",
    "officers": "the officers filter",
    "score": "the score filter",
}


def removed(state: State) -> str:
    """Return the line naming the filters a refinement removed, or the leads it hid ("Hid
    it."; empty when none)."""
    slots = state.get("slots", {}) if state.get("intent") == "refine" else {}
    if slots.get("hide"):
        return f"Hid {'it' if len(slots['hide']) == 1 else 'them'}."
    cleared = slots.get("clear", [])
    words = [CLEARED_WORDS.get(c, c) for c in cleared if c not in ("live", "hidden")]
    text = f"Removed {' and '.join(words)}." if words else ""
    if "hidden" in cleared:
        text += " The leads you hid are back in the list."
    if "live" in cleared:
        text += " Companies that are no longer live are included now (capped at 20 points, "
        text += "they come last)."
    return text.strip()


def _place_name(alias: str) -> str:
    """Return a place as people write it: "Jurong West", "CBD" and "AMK" for abbreviations,
    "the North-East" for a region."""
    if alias.startswith("the "):
        return "the " + alias[4:].title()
    return alias.upper() if len(alias) <= 3 and alias.isalpha() else alias.title()
