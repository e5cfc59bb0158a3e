"""The chat graph's state: a narrow input (messages), the fuller working state, and the
props of the generative-UI cards the reply carries.

The card props (``LeadsCard``, ``JobCard``, ``SearchCard`` and the rows inside them) are
the one definition of their field names: ``ui/props.ts`` is generated from them
(``python -m icp.ui_props``) and a unit test fails when it is stale.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from langgraph.graph.ui import AnyUIMessage, ui_message_reducer
from typing_extensions import TypedDict

Bucket = Literal["high", "medium", "low"]
JobStatus = Literal["queued", "running", "done", "error", "cancelled"]
Intent = Literal["search", "more", "refine", "job_status", "explain", "chat"]


class InputState(TypedDict):
    """What a client sends: the conversation."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation; the latest human message is the request."""


class CodeMatch(TypedDict):
    """One SSIC subclass the request resolved to."""

    code: str
    """Five-digit SSIC 2020 subclass code (text, leading zeros kept)."""
    title: str
    """The subclass title."""
    level: str
    """The level whose title or phrase matched (section, division, ..., phrase)."""
    term: str
    """The term that reached this code."""
    weight: float
    """Match strength 0..1 (feeds the score's industry-fit part)."""
    via: NotRequired[str]
    """The matched SSIC node whose subtree holds the code ("C", "62", "56111")."""


class SetAsidePart(TypedDict, total=False):
    """A part of the message that is not an industry word, kept for the conversation."""

    kind: str
    """location, date, size, status, score or qualifier (not applied yet); generic (a noun like
    "companies", harmless); unused (a word the search could not use, e.g. "halal"); yours
    (what the user sells: "for my cement business", "sell POS systems to ...")."""
    text: str
    """The words as typed, lowercased ("incorporated after 2015", "in jurong")."""
    term: str
    """The industry term it came with ("" when the message named none)."""
    op: str
    """For dates: after, before, in, since, between, within_years, older_than_years, recent."""
    value: str
    """Normalized value: "2015", "2010-2015", "jurong", "50" (employees), "live"."""


class Clarification(TypedDict):
    """Words too broad to search, and the main groups the reply offers instead."""

    terms: list[str]
    """The too-broad words ("services", "companies")."""
    options: list[dict[str, Any]]
    """SSIC groups to choose from: code, level, official title, count of subclasses."""


class LeadFilters(TypedDict, total=False):
    """Filters on the leads the thread shows (a follow-up sets, combines and removes them)."""

    live: bool | None
    """Which statuses: live companies only when absent or True (the default, as on /leads);
    False: only those no longer live; None: any status ("include inactive")."""
    year_min: int
    """Incorporated in or after this year."""
    year_max: int
    """Incorporated in or before this year."""
    places: list[str]
    """The places as the user named them ("jurong", "cbd", "district 22")."""
    sectors: list[str]
    """Their 2-digit postal sectors (db/data/postal)."""
    entity: Literal["company", "sole", "partnership"]
    """Companies, sole proprietorships/partnerships, or limited (liability) partnerships."""
    min_officers: int
    """At least this many officers."""
    min_score: int
    """At least this lead score (0..100): high 85, high and medium 65 (db.companies.BUCKET_MIN)."""
    max_score: int
    """At most this lead score: the medium bucket is 65 to 84, the low one up to 64."""
    hidden: list[int]
    """Companies the user hid from the list ("hide #2": already a customer), by company id."""


class LeadRow(TypedDict):
    """One scored company, as the chat shows it."""

    company_id: int
    """The company's id (companies.company_id)."""
    uen: str
    """Its Unique Entity Number in the ACRA registry."""
    name: str
    """Registered name."""
    industry_code: str | None
    """Primary SSIC 2020 subclass (5 digits)."""
    industry_norm: str | None
    """The SSIC title of industry_code."""
    score: int
    """Lead score 0..100 for this tenant's search."""
    bucket: Bucket
    """high, medium or low (from the score)."""
    rationale: str
    """Why it scored what it did: the points of each factor (README "Lead score")."""
    status: str | None
    """Registry status ("Live Company", "Struck Off", ...); None when unknown."""
    is_live: bool | None
    """Whether the registry lists it as live."""
    incorporation_year: int | None
    """Year of incorporation or registration."""
    area: str | None
    """Where it is: the area of its postal code ("Jurong East"), else its address."""


class JobInfo(TypedDict):
    """The background job holding the rest of the request."""

    job_id: int
    """Job id, for GET /jobs/{job_id}."""
    status: JobStatus
    """queued, running, done, error or cancelled."""
    total: int
    """Matching registry rows the job will process."""
    remaining: int
    """Rows not yet upserted when the chat answered."""
    created: bool
    """False when an identical request already had a queued or running job."""
    resumed_from: NotRequired[int | None]
    """The unfinished job of the same request whose range this new job resumes."""
    start: NotRequired[str]
    """When the work happens: running, now, retry, scheduled, no_runner or finished."""
    runs_at: NotRequired[str | None]
    """ISO 8601 time the work starts (started, while running); None if nothing will run it."""
    eta_seconds: NotRequired[int | None]
    """While running: seconds left at the measured rate."""
    when: NotRequired[str]
    """The same in words, a phrase after "job 7": "starts now", "runs at 02:00 tomorrow …"."""


class SearchGroup(TypedDict):
    """One industry a term of the request matched."""

    term: str
    """The term as the user wrote it (normalized)."""
    code: str
    """The SSIC 2020 code it matched (section letter, division, group, class or subclass)."""
    level: str
    """section, division, group, class, subclass or phrase."""
    title: str
    """The official SSIC 2020 title of code (a section's all-caps title in sentence case)."""
    codes: int
    """Subclasses the term reached."""
    total: int
    """Registry companies with those subclasses."""
    live: int
    """Of which live."""


class LeadsCard(TypedDict):
    """Props of the leads card: the companies this turn shows, best first."""

    terms: list[str]
    """The search the companies belong to."""
    rows: list[LeadRow]
    """This turn's companies, best first."""
    first: int
    """Rank of rows[0] among the search's leads shown in this thread (1, 11, 21, ...)."""
    total: int
    """Registry companies matching the search."""
    live: int
    """Of which live."""
    more: str | None
    """The message the card's "more" action sends; None when there is no next page."""
    job_id: int | None
    """The job scoring the rest of the search."""
    filters: list[str]
    """The filters in force, as people say them ("live only", "in Jurong (...)"); the
    companies are live ones unless a filter says otherwise."""


class JobCard(TypedDict):
    """Props of the job card: the search's background job when the chat answered."""

    job_id: int
    """Poll GET /jobs/{job_id} for live progress."""
    status: JobStatus
    """Status when the chat answered."""
    total: int
    """Registry rows the job processes."""
    remaining: int
    """Rows not yet upserted when the chat answered."""
    created: bool
    """False when an identical queued or running job was reused."""
    runs_at: str | None
    """ISO 8601 start of the work (a live scheduler's next fire, or now); None: none will."""
    eta_seconds: int | None
    """While running: seconds left at the rows per minute measured; None when not known."""
    terms: list[str]
    """The search the job belongs to."""


class SearchCard(TypedDict):
    """Props of the search card: what the request matched in SSIC 2020."""

    terms: list[str]
    """Industry terms taken from the message."""
    groups: list[SearchGroup]
    """Each matched industry with its counts."""
    unused: list[str]
    """Words of the message that were not used (terms that matched no industry)."""
    total: int
    """Registry companies matching all groups."""
    live: int
    """Of which live."""
    mode: str
    """background, sync_preview or off."""


CARDS: dict[str, type] = {"leads": LeadsCard, "job": JobCard, "search": SearchCard}
"""The cards by the name the graph pushes them under and ``ui/index.tsx`` exports them as."""


class State(InputState, total=False):
    """The full state: what each node found, for the reply and for UIs."""

    terms: list[str]
    """Industry terms of the latest human message, as matched ("software" of "software
    companies incorporated after 2015")."""
    resolutions: list[dict[str, Any]]
    """Per term: how it matched (synonym, title, index, typo, ...), the matched SSIC groups
    with official titles and counts, the words it did not use, and a one-line reason."""
    codes: list[CodeMatch]
    """Matched SSIC subclasses."""
    set_aside: list[SetAsidePart]
    """What the message said besides industries: places, dates, sizes, statuses and other
    qualifiers (not applied yet), generic nouns, and words the search did not use."""
    clarify: Clarification | None
    """Words too broad to search and the main groups offered instead (nothing is queued
    for them)."""
    mode: str
    """Effective mode: tenant override, else STAGING_UPSERT_MODE."""
    search_id: int | None
    """The tenant's saved search for the resolved code set (``GET /leads?search_id=``);
    None until the chat wrote something for it."""
    tenant_id: str
    """Tenant the request runs for."""
    total: int | None
    """Matching registry rows (None when counting them failed: never reported as 0)."""
    live: int | None
    """Of which live (None when counting failed)."""
    groups: list[SearchGroup]
    """Every SSIC group each term matched, with its official title and counts (the search
    card)."""
    unused: list[str]
    """Words of the message the search did not use: terms that matched no industry, and
    words a partial match left out ("halal" of "halal bakeries")."""
    head: list[LeadRow]
    """Companies upserted and scored during the chat, best first."""
    job: JobInfo | None
    """The queued remainder."""
    candidates: list[dict[str, Any]]
    """Preview sample (at most 20) in sync_preview mode; nothing written."""
    intent: Intent
    """What the latest message asked: a new search, or the next page of the active one."""
    page: list[LeadRow]
    """The next page of the active search's scored leads ("more")."""
    shown: list[int]
    """company_id of every lead shown for the active search in this thread."""
    filters: LeadFilters
    """Filters in force on the leads shown (refine follow-ups; a new search clears them)."""
    head_filtered: bool
    """Whether the search message's filters chose ``head`` (False when there were none, or
    when reading under them outlasted half the chat's budget and the unfiltered head was
    taken instead)."""
    head_scored: int
    """Companies scored during the chat: ``head`` and those its minimum score left out."""
    page_exact: bool
    """Whether ``page`` is the registry's next best under the filters: every match is scored,
    or the page scored the best ones ahead of the unfinished job (nodes.follow_up)."""
    slots: dict[str, Any]
    """What the latest message named for its intent (count, filters, job_id, rank, ...)."""
    search_text: str
    """The request a changed search resolves ("bakery", "manufacturing, logistics"); empty:
    the latest message itself."""
    previous_terms: list[str]
    """The terms of the search before the active one ("go back")."""
    like_company: int | None
    """company_id of the lead a "companies like #3" search takes its industry from (the
    turn's only; None otherwise)."""
    answer: str
    """The reply a follow-up node wrote (job status, explanation, small talk)."""
    kept: dict[str, Any]
    """The active search while a new one is tried: restored when the new one matches no
    industry (a typo or a question does not wipe the results a UI shows)."""
    errors: list[str]
    """What failed while answering (the reply says so)."""
    started_at: float
    """Wall-clock time the request reached normalize (for the time-to-reply metric)."""
    ui: Annotated[list[AnyUIMessage], ui_message_reducer]
    """Generative-UI cards pushed with the replies (agent-chat-ui renders them)."""


class OutputState(TypedDict, total=False):
    """What the graph returns: the reply plus the structured results."""

    messages: list[AnyMessage]
    terms: list[str]
    resolutions: list[dict[str, Any]]
    codes: list[CodeMatch]
    set_aside: list[SetAsidePart]
    clarify: Clarification | None
    mode: str
    search_id: int | None
    total: int | None
    live: int | None
    groups: list[SearchGroup]
    unused: list[str]
    head: list[LeadRow]
    job: JobInfo | None
    candidates: list[dict[str, Any]]
    intent: Intent
    page: list[LeadRow]
    filters: LeadFilters
    head_filtered: bool
    head_scored: int
    page_exact: bool
    slots: dict[str, Any]
    errors: list[str]
    ui: Annotated[list[AnyUIMessage], ui_message_reducer]
