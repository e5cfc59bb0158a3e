"""Structured job logs: one JSON object per line on the ``icp.jobs`` logger."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

logger = logging.getLogger("icp.jobs")


def log_event(
    event: str, *, stage: str = "staging_upsert", level: int = logging.INFO, **fields: Any
) -> None:
    """Log one event (job_start, batch_start, batch_end, job_end, error, ...) as a JSON line."""
    if logger.isEnabledFor(level):
        logger.log(level, json.dumps({"stage": stage, "event": event, **fields}, default=str))


def configure_cli_logging(level: int = logging.INFO) -> None:
    """Send the job and failure logs to stderr as bare JSON lines (progress goes to stdout)."""
    for target in (logger, logging.getLogger("icp.errors")):
        if any(getattr(h, "_icp_jobs", False) for h in target.handlers):
            continue
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._icp_jobs = True  # type: ignore[attr-defined]
        target.addHandler(handler)
        target.setLevel(level)
        target.propagate = False
