"""Per-run context shared by the nodes: tenant, effective mode, time budget, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeGuard

from langchain_core.runnables import RunnableConfig
from psycopg import AsyncConnection

from config.settings import UpsertMode, get_settings
from db.pool import get_pool
from db.queries import q
from jobs.failures import report_failure, run_ids

MAX_TENANT_CHARS = 200
NO_TENANT = (
    "Your sign-in carries no workspace (the token has no tenant_id), so nothing was looked up."
)


def tenant_of(config: RunnableConfig | None) -> str:
    """Return the tenant of this run: the authenticated user's, else the default.

    With auth on, only the verified token decides; a client-supplied
    ``configurable.tenant_id`` is honoured only when auth is off (local use, tests). A
    run whose user carries no tenant_id gets "" (no tenant): the nodes then refuse to
    touch the database rather than guess one (a user's id is no tenant id).
    """
    settings = get_settings()
    configurable: Mapping[str, Any] = (config or {}).get("configurable") or {}
    user = configurable.get("langgraph_auth_user")
    if user is not None:
        tenant = user_tenant(user)
        if tenant:
            return tenant
    if settings.auth_jwt_secret:
        # No user at all: an in-process script (the server always sets one).
        return settings.default_tenant if user is None else ""
    tenant = configurable.get("tenant_id")
    return tenant if _valid_tenant(tenant) else settings.default_tenant


def _valid_tenant(tenant: object) -> TypeGuard[str]:
    """Whether a client-supplied tenant id is usable: printable text, not too long.

    Anything else (NUL bytes, unpaired surrogates the database cannot store) is ignored
    like a missing one, instead of failing the run inside a node.
    """
    return isinstance(tenant, str) and 0 < len(tenant) <= MAX_TENANT_CHARS and tenant.isprintable()


def user_tenant(user: Any) -> str | None:
    """Return the tenant_id an authenticated user carries (a dict or langgraph's proxy)."""
    value = _get(user, "tenant_id")
    return value if isinstance(value, str) and value else None


def _get(obj: Any, key: str) -> Any:
    try:
        return obj[key]
    except (KeyError, TypeError, IndexError, AttributeError):
        return getattr(obj, key, None)


async def effective_mode(conn: AsyncConnection[Any], tenant_id: str) -> UpsertMode:
    """Return the tenant's mode override, else STAGING_UPSERT_MODE."""
    cur = await conn.execute(q("get_tenant_mode"), {"tenant_id": tenant_id})
    row = await cur.fetchone()
    if row and row[0]:
        mode: UpsertMode = row[0]
        return mode
    return get_settings().staging_upsert_mode


def budget_s() -> float:
    """Return the chat's time budget for one database step, in seconds."""
    return get_settings().head_budget_ms / 1000


@asynccontextmanager
async def budgeted_connection() -> AsyncIterator[AsyncConnection[Any]]:
    """Yield a pooled connection; getting it and the whole block share one step's budget
    (TimeoutError past it)."""
    budget = budget_s()
    async with asyncio.timeout(budget):
        pool = await get_pool()
        async with pool.connection(timeout=budget) as conn:
            yield conn


async def failed_step(
    step: str, exc: BaseException, config: RunnableConfig | None, *, node: str
) -> str:
    """Report a step's failure once (one JSON log line) and return the reply's sentence."""
    failure = await report_failure(
        exc, stage="chat", node=node, tenant=tenant_of(config) or None, **run_ids(config)
    )
    return f"{step} failed: {failure.message}."
