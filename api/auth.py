"""LangGraph custom auth: HS256 bearer tokens carrying ``sub`` and ``tenant_id``.

With ``ICP_AUTH_JWT_SECRET`` set, every request (graph API and custom routes, see
``http.enable_custom_route_auth`` in langgraph.json) needs ``Authorization: Bearer <JWT>``;
a missing, expired or forged token is a 401. The user dict's ``tenant_id`` reaches graph
runs as ``config["configurable"]["langgraph_auth_user"]["tenant_id"]`` (read by
``nodes.context.tenant_of``). Unset: auth is off and every request runs as the single
tenant ``settings.default_tenant``. Threads, runs and crons are owned by their user.
"""

from __future__ import annotations

from typing import Any, TypedDict

import jwt
from langgraph_sdk import Auth

from config.settings import get_settings
from nodes.context import MAX_TENANT_CHARS, user_tenant

auth = Auth()


class TenantUser(TypedDict):
    """The authenticated user as langgraph-api stores it."""

    identity: str
    tenant_id: str
    display_name: str
    is_authenticated: bool
    permissions: list[str]


def _unauthorized(detail: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(
        status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def default_user() -> TenantUser:
    """Return the single user of a deployment with auth off."""
    tenant = get_settings().default_tenant
    return TenantUser(
        identity=tenant,
        tenant_id=tenant,
        display_name=tenant,
        is_authenticated=True,
        permissions=[],
    )


def verify_authorization(authorization: str | None) -> TenantUser:
    """Return the user of an ``Authorization`` header value; raise a 401 HTTPException."""
    secret = get_settings().auth_jwt_secret
    if not secret:
        return default_user()
    if not authorization or not authorization.strip():
        raise _unauthorized("missing bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("expected 'Authorization: Bearer <token>'")
    try:
        claims: dict[str, Any] = jwt.decode(
            token.strip(), secret, algorithms=["HS256"], options={"require": ["sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("invalid token") from None
    sub, tenant = claims.get("sub"), claims.get("tenant_id")
    if not isinstance(sub, str) or not sub:
        raise _unauthorized("token has no subject")
    if not isinstance(tenant, str) or not tenant:
        raise _unauthorized("token has no tenant_id")
    if len(tenant) > MAX_TENANT_CHARS or not tenant.isprintable():
        raise _unauthorized("token has an unusable tenant_id")
    return TenantUser(
        identity=sub, tenant_id=tenant, display_name=sub, is_authenticated=True, permissions=[]
    )


def is_public_page(method: str, path: str) -> bool:
    """Return whether a request only fetches the product page's static files (no data)."""
    return method in ("GET", "HEAD") and (path == "/app" or path.startswith("/app/"))


@auth.authenticate
async def authenticate(
    authorization: str | None, method: str = "GET", path: str = ""
) -> Auth.types.MinimalUserDict:
    """Verify the bearer token of a request (LangGraph calls this for every request).

    The page under /app carries no data and asks for the token itself, so its GETs pass;
    every API call the page makes still needs the token.
    """
    if is_public_page(method, path) and not authorization:
        return {
            "identity": "page",
            "display_name": "page",
            "is_authenticated": False,
            "permissions": [],
        }
    user = verify_authorization(authorization)
    return {
        "identity": user["identity"],
        "display_name": user["display_name"],
        "is_authenticated": True,
        "permissions": user["permissions"],
        "tenant_id": user["tenant_id"],  # type: ignore[typeddict-unknown-key]
    }


def tenant_of_user(user: Any) -> str:
    """Return the tenant of an authenticated user object (dict or langgraph's proxy)."""
    tenant = user_tenant(user)
    if tenant:
        return tenant
    return get_settings().default_tenant if not get_settings().auth_jwt_secret else ""


def _owner_filter(ctx: Auth.types.AuthContext) -> dict[str, str]:
    return {"owner": ctx.user.identity, "tenant_id": tenant_of_user(ctx.user)}


@auth.on
async def owned_by_user(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """Tag what a user creates with its owner and tenant; show them only what they own."""
    filters = _owner_filter(ctx)
    if isinstance(value, dict):
        metadata = value.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {}
            value["metadata"] = metadata
        metadata.update(filters)
    return filters


@auth.on.assistants.read
async def read_assistants(ctx: Auth.types.AuthContext, value: Any) -> None:
    """Let every user read the deployment's assistants (the graph's, created by the server)."""
    return None


@auth.on.assistants.search
async def search_assistants(ctx: Auth.types.AuthContext, value: Any) -> None:
    """Let every user find the deployment's assistants."""
    return None


@auth.on.store
async def own_namespace(ctx: Auth.types.AuthContext, value: Any) -> None:
    """Keep each user's store items under a namespace that starts with its tenant and id."""
    namespace = tuple(value.get("namespace") or ()) if isinstance(value, dict) else ()
    prefix = (tenant_of_user(ctx.user), ctx.user.identity)
    if namespace[:2] != prefix:
        raise Auth.exceptions.HTTPException(status_code=403, detail="not your namespace")
