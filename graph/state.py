"""The chat graph's state: a narrow input (messages) and the fuller working state."""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict


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


class JobInfo(TypedDict):
    """The background job holding the rest of the request."""

    job_id: int
    """Job id, for GET /jobs/{job_id}."""
    status: str
    """queued, running, done, error or cancelled."""
    total: int
    """Matching registry rows the job will process."""
    remaining: int
    """Rows not yet upserted when the chat answered."""
    created: bool
    """False when an identical request already had a queued or running job."""


class State(InputState, total=False):
    """The full state: what each node found, for the reply and for UIs."""

    terms: list[str]
    """Industry terms extracted from the latest human message."""
    resolutions: list[dict[str, Any]]
    """Per term: what it matched and why (title or index phrase)."""
    codes: list[CodeMatch]
    """Matched SSIC subclasses."""
    mode: str
    """Effective mode: tenant override, else STAGING_UPSERT_MODE."""
    tenant_id: str
    """Tenant the request runs for."""
    total: int | None
    """Matching registry rows (None when counting them failed: never reported as 0)."""
    head: list[dict[str, Any]]
    """Companies upserted and scored during the chat, best first."""
    job: JobInfo | None
    """The queued remainder."""
    candidates: list[dict[str, Any]]
    """Preview sample (at most 20) in sync_preview mode; nothing written."""
    errors: list[str]
    """What failed while answering (the reply says so)."""
    started_at: float
    """Wall-clock time the request reached normalize (for the time-to-reply metric)."""


class OutputState(TypedDict, total=False):
    """What the graph returns: the reply plus the structured results."""

    messages: list[AnyMessage]
    terms: list[str]
    resolutions: list[dict[str, Any]]
    codes: list[CodeMatch]
    mode: str
    total: int | None
    head: list[dict[str, Any]]
    job: JobInfo | None
    candidates: list[dict[str, Any]]
    errors: list[str]
