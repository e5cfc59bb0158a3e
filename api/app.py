"""The custom FastAPI app the LangGraph server mounts beside its own routes.

Its lifespan runs once per server process, on the event loop the graph's nodes use:
it opens the process's one connection pool and starts the scheduler. Routes live under
/jobs, /leads, /companies, /icp and /app only; every other path belongs to the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from config.settings import get_settings
from db.pool import close_pool, get_pool
from nodes.context import DB_ERRORS, describe_error


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the pool and the scheduler for the server's lifetime."""
    get_settings()  # a bad value stops start-up here, naming the variable
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


@app.get("/icp/health", tags=["health"], responses={503: {"description": "database down"}})
async def health() -> JSONResponse:
    """Report whether the database answers (503 with the reason when it does not)."""
    try:
        pool = await get_pool()
        async with pool.connection(timeout=2) as conn:
            await conn.execute("SELECT 1")
    except DB_ERRORS as exc:
        return JSONResponse({"status": "error", "detail": describe_error(exc)}, status_code=503)
    return JSONResponse({"status": "ok"})


from api import docs as _docs  # noqa: E402  (routers after the app they join)
from api import metrics as _metrics  # noqa: E402
from api import routes_jobs as _routes_jobs  # noqa: E402
from api import routes_leads as _routes_leads  # noqa: E402
from api import routes_preview as _routes_preview  # noqa: E402

# Routers are added as plain routes, not with include_router: FastAPI wraps an included
# router in a route without ``.app``, which langgraph-api's per-route auth middleware
# (http.enable_custom_route_auth) cannot wrap, and the server would refuse to start.
for _router in (
    _routes_jobs.router,
    _routes_leads.router,
    _routes_preview.router,
    _routes_preview.page_router,
    _metrics.router,
    _docs.router,
):
    app.router.routes.extend(_router.routes)
