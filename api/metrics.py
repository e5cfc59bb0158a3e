"""``GET /icp/metrics``: the product's Prometheus metrics (the server owns ``/metrics``)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from jobs.metrics import REGISTRY, observe_chat_reply

__all__ = ["observe_chat_reply", "router"]

router = APIRouter(tags=["metrics"])


@router.get(
    "/icp/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}}
)
async def metrics() -> Response:
    """Return rows processed, batch durations, finished jobs and chat reply latency."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
