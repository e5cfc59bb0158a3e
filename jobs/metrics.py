"""Prometheus metrics of the jobs and the chat, on the product's own registry.

The LangGraph server owns ``/metrics``; these are exposed on ``/icp/metrics`` from a
separate registry so their names never collide with the server's.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

ROWS_PROCESSED = Counter(
    "icp_job_rows_processed",
    "Staging rows upserted and scored by background jobs.",
    ["job_type"],
    registry=REGISTRY,
)
BATCH_SECONDS = Histogram(
    "icp_job_batch_duration_seconds",
    "Duration of one runner batch (statement and commit).",
    ["job_type"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
JOBS_FINISHED = Counter(
    "icp_jobs_finished",
    "Jobs that reached a final status (done, error, cancelled).",
    ["job_type", "status"],
    registry=REGISTRY,
)
CHAT_REPLY_SECONDS = Histogram(
    "icp_chat_time_to_reply_seconds",
    "Time from a chat message to the assistant's reply.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10),
    registry=REGISTRY,
)


def observe_chat_reply(seconds: float) -> None:
    """Record one chat reply's latency (called by the graph's respond node)."""
    CHAT_REPLY_SECONDS.observe(max(seconds, 0.0))
