"""The custom FastAPI app the LangGraph server mounts beside its own routes.

Its lifespan runs once per server process, on the event loop the graph's nodes use:
it opens the process's connection pool and starts the jobs service (the worker that runs
and rescues jobs, and the scheduler's fires; see jobs.scheduler). Routes live under
/jobs, /leads, /companies, /icp and /app only; every other path belongs to the server.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.auth import CoverServerMetaRoutes
from api.errors import failure_response
from api.genui import AbsoluteUiAssets
from config.settings import SettingsError, get_settings
from db.pool import close_pool, get_pool


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the pool, the worker and the scheduler for the server's lifetime."""
    try:
        get_settings()
    except SettingsError as exc:
        # A bad value stops start-up with one line naming the variable (as the CLI does),
        # not a lifespan traceback; nothing is open yet, so the process just ends.
        print(f"icp: configuration error: {exc}", file=sys.stderr, flush=True)
        os._exit(2)
    await get_pool()
    from jobs.scheduler import start_scheduler, stop_scheduler

    scheduler = await start_scheduler()
    try:
        yield
    finally:
        await stop_scheduler(scheduler)
        await close_pool()


app = FastAPI(
    title="ICP industry search",
    version="0.1.0",
    summary="Scored leads from the company registry; background upsert jobs.",
    lifespan=lifespan,
    # /docs and /openapi.json belong to the LangGraph server; custom routes match first,
    # so the app's own documentation lives under /icp.
    docs_url=None,  # api.docs serves /icp/docs with local assets
    redoc_url=None,
    openapi_url="/icp/openapi.json",
)
# Custom middleware runs around the server's own routes too: agent-chat-ui (another
# origin) can only load the cards when POST /ui/<graph> names the bundle absolutely.
app.add_middleware(AbsoluteUiAssets)


# Outermost middleware of the whole server (langgraph-api puts a custom app's middleware
# before its own): covers the server's /metrics, /docs and /openapi.json with auth on.
app.add_middleware(CoverServerMetaRoutes)


@app.get(
    "/icp/health",
    tags=["health"],
    responses={503: {"description": "database down or busy"}, 500: {"description": "bug"}},
)
async def health(request: Request) -> JSONResponse:
    """Report whether the database answers (503 with the reason when it does not)."""
    try:
        pool = await get_pool()
        async with pool.connection(timeout=2) as conn:
            await conn.execute("SELECT 1")
    except Exception as exc:  # reported once; the answer says busy, down or bug
        return await failure_response(request, exc, status="error")
    return JSONResponse({"status": "ok"})


from api import docs as _docs  # noqa: E402  (routers after the app they join)
from api import metrics as _metrics  # noqa: E402
from api import routes_export as _routes_export  # noqa: E402
from api import routes_jobs as _routes_jobs  # noqa: E402
from api import routes_leads as _routes_leads  # noqa: E402
from api import routes_preview as _routes_preview  # noqa: E402

# Routers are added as plain routes, not with include_router: FastAPI wraps an included
# router in a route without ``.app``, which langgraph-api's per-route auth middleware
# (http.enable_custom_route_auth) cannot wrap, and the server would refuse to start.
for _router in (
    _routes_jobs.router,
    _routes_leads.router,
    _routes_export.router,
    _routes_preview.router,
    _routes_preview.page_router,
    _metrics.router,
    _docs.router,
):
    app.router.routes.extend(_router.routes)
