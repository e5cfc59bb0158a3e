"""respond: write the reply a salesperson reads; structured results stay in state."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig

from config.settings import get_settings
from graph.state import State
from jobs.metrics import observe_chat_reply
from nodes.context import failed_step

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


def next_run_label() -> str:
    """Describe when the scheduler drains the queue next (from NIGHTLY_CRON/NIGHTLY_TZ)."""
    from apscheduler.triggers.cron import CronTrigger

    settings = get_settings()
    tz = ZoneInfo(settings.nightly_tz)
    trigger = CronTrigger.from_crontab(settings.nightly_cron, timezone=tz)
    now = datetime.now(tz)
    fire = trigger.get_next_fire_time(None, now)
    if fire is None:
        return "the next scheduled run"
    when = f"{fire:%H:%M} {settings.nightly_tz}"
    if settings.nightly_cron == "0 2 * * *":
        return f"tonight's run ({when})"
    day = "today" if fire.date() == now.date() else fire.strftime("%a %d %b")
    return f"the next scheduled run ({day} {when})"


def _term_line(res: dict[str, Any]) -> str:
    count = int(res.get("count", 0))
    if count == 0:
        return f"\u201c{res['term']}\u201d matched no SSIC industry"
    level = LEVEL_NAMES.get(str(res.get("level")), "SSIC")
    title = str(res.get("title", ""))
    title = title.capitalize() if title.isupper() else title
    what = f"{level} {res.get('code')}" + (f" \u201c{title}\u201d" if title else "")
    return f"{res['term'].capitalize()} \u2192 {what} ({_plural(count, 'subclass')})"


def compose(state: State) -> str:
    """Return the reply text for the state the earlier nodes produced."""
    terms = state.get("terms", [])
    errors = state.get("errors", [])
    if not terms:
        return HELP
    resolutions = state.get("resolutions", [])
    codes = state.get("codes", [])
    if not codes:
        if errors:
            return " ".join(errors) + " Please try again in a moment."
        quoted = ", ".join(f"\u201c{t}\u201d" for t in terms)
        return f"I couldn't match {quoted} to an industry in SSIC 2020. " + HELP
    matched = "; ".join(_term_line(r) for r in resolutions)
    mode = state.get("mode", "background")
    if mode == "off":
        return (
            f"{matched}.\n\nRegistry search is switched off for your workspace, "
            "so nothing was looked up."
        )
    if "total" in state and state["total"] is None:  # the count failed: never "0 companies"
        return "\n\n".join([f"{matched}.", " ".join(errors) or "Counting failed."])
    total = int(state.get("total") or 0)
    head = state.get("head", [])
    job = state.get("job")
    lines = [f"{matched}: {_n(total)} {'company' if total == 1 else 'companies'}."]
    if mode == "sync_preview":
        sample = state.get("candidates", [])
        names = ", ".join(str(c["name"]) for c in sample[:5])
        lines.append("Preview only (nothing saved)" + (f": {names}\u2026" if names else "."))
    elif total == 0:
        lines.append("No registry companies carry these codes yet.")
    else:
        parts: list[str] = []
        if head:
            top = ", ".join(f"{h['name']} ({h['score']})" for h in head[:3])
            parts.append(f"Upserted and scored {_n(len(head))} now (top: {top}).")
        if job:
            rest = job["remaining"]
            verb = "are" if rest != 1 else "is"
            lead = f"{'The other' if head else 'All'} {_n(rest)} {verb}"
            if job["created"]:
                parts.append(f"{lead} queued as job {job['job_id']} for {next_run_label()}.")
            else:
                parts.append(f"{lead} already in job {job['job_id']} ({job['status']}).")
        lines[0] = " ".join([lines[0], *parts])
    if errors:
        lines.append(" ".join(errors))
    return "\n\n".join(lines)


async def respond(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Append the assistant's reply and record the time to reply."""
    try:
        text = compose(state)
    except Exception as exc:  # reported once; the user still gets an answer
        text = await failed_step("Writing the reply", exc, config, node="respond")
    reply = AIMessage(content=text)
    started = state.get("started_at")
    if started:
        observe_chat_reply(max(time.time() - started, 0.0))
    return {"messages": [reply]}
