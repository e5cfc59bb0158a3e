"""FastAPI dependencies of the custom routes: the caller's tenant and a pooled connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from langgraph_sdk import Auth
from psycopg import AsyncConnection

from api.auth import credentials, tenant_of_user, verify_authorization
from db.pool import get_pool


async def current_tenant(request: Request) -> str:
    """Return the caller's tenant.

    Inside the LangGraph server (``enable_custom_route_auth``) the auth middleware has
    already run ``api.auth.authenticate`` and put the user in ``request.scope["user"]``;
    served standalone (tests, plain uvicorn) the same verification runs here.
    """
    user = request.scope.get("user")
    if user is not None and getattr(user, "is_authenticated", False):
        tenant = tenant_of_user(user)
        if tenant:
            return tenant
    try:
        authorization = credentials(
            request.headers.get("authorization"), request.headers.get("x-api-key")
        )
        return verify_authorization(authorization)["tenant_id"]
    except Auth.exceptions.HTTPException as exc:
        raise HTTPException(
            status_code=exc.status_code,
            detail=exc.detail,
            headers=dict(exc.headers) if exc.headers else None,
        ) from None


ROUTE_CONNECT_TIMEOUT_S = 3.0
"""How long a request waits for a connection before answering 503 (the pool's default is 10 s)."""


async def db_connection() -> AsyncIterator[AsyncConnection[Any]]:
    """Yield a connection from the process's pool, waiting at most a few seconds for one."""
    pool = await get_pool()
    async with pool.connection(timeout=ROUTE_CONNECT_TIMEOUT_S) as conn:
        yield conn


CurrentTenant = Annotated[str, Depends(current_tenant)]
Conn = Annotated[AsyncConnection[Any], Depends(db_connection)]
