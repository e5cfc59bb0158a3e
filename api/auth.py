"""LangGraph custom auth: HS256 bearer tokens carrying ``exp``, ``sub`` and ``tenant_id``.

With ``ICP_AUTH_JWT_SECRET`` set (at least 32 bytes), every request (graph API and custom
routes, see ``http.enable_custom_route_auth`` in langgraph.json) needs
``Authorization: Bearer <JWT>``, or the JWT as ``x-api-key`` (what agent-chat-ui sends from
its key field, and what its generative-UI cards send with their own requests); a missing,
expired, forged or incomplete token is a 401.
Required claims: ``exp`` (at most ``ICP_AUTH_JWT_MAX_TTL_S`` ahead; ``LEEWAY_S`` of clock
skew allowed), ``sub`` and ``tenant_id``; ``aud`` / ``iss`` too when
``ICP_AUTH_JWT_AUDIENCE`` / ``ICP_AUTH_JWT_ISSUER`` are set. The few endpoints that stay
open are :data:`OPEN_ENDPOINTS` (the README lists the same, a test checks both against the
running server).

The user dict's ``tenant_id`` reaches graph runs as
``config["configurable"]["langgraph_auth_user"]["tenant_id"]`` (read by
``nodes.context.tenant_of``). Unset: auth is off and every request runs as the single
tenant ``settings.default_tenant``.

What a tenant sees of the server's resources:

* threads (and their runs), crons: only its own user's (``owner`` and ``tenant_id``
  metadata, written here at creation, filtered on every read);
* assistants: those of its tenant plus the graph's system assistant
  (``created_by: system``, made by the server); only their creator changes or deletes
  them, and nobody can make an assistant look like a system one;
* store: only namespaces that start with ``[tenant_id, sub]`` (an unscoped search or
  namespace listing is narrowed to them).
"""

from __future__ import annotations

import time
from typing import Any, TypedDict, cast

import jwt
from langgraph_sdk import Auth
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from config import links
from config.settings import get_settings
from nodes.context import MAX_TENANT_CHARS, user_tenant

auth = Auth()

LEEWAY_S = 30
"""Clock skew allowed on ``exp`` (and ``nbf``/``iat`` when present), in seconds."""

OPEN_ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("GET", "/", "the server's health probe at the root (load balancers); no data"),
    ("GET", "/ok", "the server's liveness probe; no data"),
    (
        "GET",
        "/info",
        "server version and feature flags; agent-chat-ui and Studio call it to check the "
        "server before they have a token; no tenant data",
    ),
    (
        "GET",
        "/ui/*",
        "the chat cards' bundle (static code, no data) for a <script> tag that cannot carry "
        "a token; langgraph-api never authenticates these GETs (POST /ui/<graph> needs the "
        "token). A server started without the cards (http.disable_ui) answers 404",
    ),
    ("GET", "/app*", "the product page's static files; the page asks for the token itself"),
)
"""(method, path or ``prefix*``, why) of every endpoint that answers without a token.

``GET`` includes ``HEAD``. CORS preflights (``OPTIONS`` with ``Access-Control-Request-Method``)
are answered by the server's CORS middleware without a token, as browsers send them.
"""

COVERED_SERVER_PATHS = frozenset({"/metrics", "/docs", "/openapi.json"})
"""The LangGraph server's own routes that it leaves open and this app covers (see below)."""


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


def credentials(authorization: str | None, api_key: str | None) -> str | None:
    """Return the Authorization value to verify: the header, else the x-api-key as a bearer.

    agent-chat-ui sends the key typed into its connect form as ``x-api-key`` on every
    request (and so do the cards' own requests, through the same SDK client), so a JWT
    pasted there works like ``Authorization: Bearer <JWT>``; the header wins when both come.
    """
    if authorization and authorization.strip():
        return authorization
    key = (api_key or "").strip()
    if not key:
        return authorization
    scheme, _, token = key.partition(" ")
    return key if scheme.lower() == "bearer" and token.strip() else f"Bearer {key}"


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
    claims = _decode(token.strip(), secret)
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


def _decode(token: str, secret: str) -> dict[str, Any]:
    """Verify signature and registered claims; return the claims or raise a 401."""
    settings = get_settings()
    required = ["exp", "sub"]
    kwargs: dict[str, Any] = {}
    if settings.auth_jwt_audience:
        required.append("aud")
        kwargs["audience"] = settings.auth_jwt_audience
    if settings.auth_jwt_issuer:
        required.append("iss")
        kwargs["issuer"] = settings.auth_jwt_issuer
    options: jwt.types.Options = {"require": required}
    if not settings.auth_jwt_audience:
        options["verify_aud"] = False  # an unconfigured audience is not checked
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=["HS256"], options=options, leeway=LEEWAY_S, **kwargs
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired") from None
    except jwt.MissingRequiredClaimError as exc:
        raise _unauthorized(f"token has no {exc.claim} claim") from None
    except jwt.InvalidAudienceError:
        raise _unauthorized("token is for another audience") from None
    except jwt.InvalidIssuerError:
        raise _unauthorized("token is from another issuer") from None
    except jwt.ImmatureSignatureError:
        raise _unauthorized("token is not valid yet") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("invalid token") from None
    if claims["exp"] - time.time() > settings.auth_jwt_max_ttl_s + LEEWAY_S:
        raise _unauthorized(
            f"token lifetime too long: exp is more than {settings.auth_jwt_max_ttl_s} s ahead"
        )
    return claims


def is_public_page(method: str, path: str) -> bool:
    """Return whether a request only fetches the product page's static files (no data)."""
    return method in ("GET", "HEAD") and (path == "/app" or path.startswith("/app/"))


def verify_link(query: list[tuple[str, str]]) -> TenantUser:
    """Return the tenant of a signed download link (``config.links``); raise a 401."""
    settings = get_settings()
    if not settings.auth_jwt_secret:
        return default_user()
    try:
        tenant = links.verify(
            query, secret=settings.auth_jwt_secret, ttl_s=settings.auth_jwt_max_ttl_s
        )
    except links.BadLink as exc:
        raise _unauthorized(str(exc)) from None
    if len(tenant) > MAX_TENANT_CHARS or not tenant.isprintable():
        raise _unauthorized("link has an unusable tenant")
    return TenantUser(
        identity=f"link:{tenant}",
        tenant_id=tenant,
        display_name="download link",
        is_authenticated=True,
        permissions=[],
    )


@auth.authenticate
async def authenticate(
    authorization: str | None,
    headers: dict[bytes, bytes] | None = None,
    method: str = "GET",
    path: str = "",
    query_params: Any = None,
) -> Auth.types.MinimalUserDict:
    """Verify the token of a request (LangGraph calls this for every request).

    The token comes as a bearer header or as agent-chat-ui's ``x-api-key``. The page under
    /app carries no data and asks for the token itself, so its GETs pass; every API call
    the page makes still needs the token. A GET of ``/leads/export.csv`` without a token
    may carry a signed link's ``sig`` instead (``config.links``: the chat's export link).
    """
    api_key = (headers or {}).get(b"x-api-key")
    authorization = credentials(authorization, api_key.decode("latin-1") if api_key else None)
    if is_public_page(method, path) and not authorization:
        return {
            "identity": "page",
            "display_name": "page",
            "is_authenticated": False,
            "permissions": [],
        }
    query = list(query_params.multi_items()) if query_params is not None else []
    if (
        not authorization
        and method in ("GET", "HEAD")
        and path == links.EXPORT_PATH
        and any(k == "sig" for k, _ in query)
    ):
        user = verify_link(query)
    else:
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


def _tag(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str]:
    """Write the owner and tenant into a created/updated value's metadata; return them."""
    filters = _owner_filter(ctx)
    if isinstance(value, dict):
        metadata = value.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {}
            value["metadata"] = metadata
        metadata.update(filters)
    return filters


@auth.on
async def owned_by_user(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """Tag what a user creates with its owner and tenant; show them only what they own."""
    return _tag(ctx, value)


def _tenant_or_system(ctx: Auth.types.AuthContext) -> Auth.types.FilterType:
    # "$or" is supported by both runtimes (langgraph-runtime-inmem's filter matcher and
    # langgraph-api's gRPC/Postgres filter conversion); the SDK's FilterType lags behind.
    either = {"$or": [{"created_by": "system"}, {"tenant_id": tenant_of_user(ctx.user)}]}
    return cast(Auth.types.FilterType, either)


@auth.on.assistants.read
async def read_assistants(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """Let a user read (and run) its tenant's assistants and the graph's system assistant."""
    return _tenant_or_system(ctx)


@auth.on.assistants.search
async def search_assistants(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """Let a user find its tenant's assistants and the graph's system assistant."""
    return _tenant_or_system(ctx)


def _tag_assistant(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str]:
    filters = _tag(ctx, value)
    value["metadata"]["created_by"] = ctx.user.identity  # never "system"
    return filters


@auth.on.assistants.create
async def create_assistant(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """Tag a new assistant with its owner and tenant; it can never pass as a system one."""
    return _tag_assistant(ctx, value)


@auth.on.assistants.update
async def update_assistant(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """Let only an assistant's creator change it (never the system assistant)."""
    return _tag_assistant(ctx, value)


def _run_as(ctx: Auth.types.AuthContext) -> dict[str, Any]:
    """Return the user a cron's runs act for (the scheduler has no request to take it from)."""
    return {
        "identity": ctx.user.identity,
        "display_name": ctx.user.identity,
        "is_authenticated": True,
        "permissions": list(ctx.permissions),
        "tenant_id": tenant_of_user(ctx.user),
    }


def _runs_act_for_creator(ctx: Auth.types.AuthContext, payload: dict[str, Any]) -> None:
    config = payload.get("config")
    if not isinstance(config, dict):
        config = payload["config"] = {}
    configurable = config.get("configurable")
    if not isinstance(configurable, dict):
        configurable = config["configurable"] = {}
    configurable["langgraph_auth_user"] = _run_as(ctx)


@auth.on.crons.create
async def create_cron(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """Tag a cron with its owner and tenant, and make its runs act for that user.

    The scheduler starts a cron's runs with only the creator's id, which carries no
    tenant; the run would then refuse to work (``nodes.context.tenant_of``). The
    creator is stored in the cron's run config under the server-reserved
    ``langgraph_auth_user`` key, which clients cannot set themselves (the server strips
    it from every request) and which the scheduler restores as the run's user.
    """
    filters = _tag(ctx, value)
    payload = value.get("payload") if isinstance(value, dict) else None
    if isinstance(payload, dict):
        _runs_act_for_creator(ctx, payload)
    return filters


@auth.on.crons.update
async def update_cron(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """Let only a cron's owner change it; a new run config keeps acting for the owner."""
    filters = _tag(ctx, value)
    payload = value.get("payload") if isinstance(value, dict) else None
    if isinstance(payload, dict) and "config" in payload:  # replaces the stored config
        _runs_act_for_creator(ctx, payload)
    return filters


@auth.on.store
async def own_namespace(ctx: Auth.types.AuthContext, value: Any) -> None:
    """Keep each user's store items under a namespace that starts with its tenant and id.

    A search or a namespace listing without a prefix is narrowed to the user's own; any
    other namespace outside it is a 403.
    """
    if not isinstance(value, dict):
        raise Auth.exceptions.HTTPException(status_code=403, detail="not your namespace")
    prefix = (tenant_of_user(ctx.user), ctx.user.identity)
    namespace = tuple(value.get("namespace") or ())
    if not namespace and ctx.action in ("search", "list_namespaces"):
        value["namespace"] = prefix
        return
    if namespace[:2] != prefix:
        raise Auth.exceptions.HTTPException(status_code=403, detail="not your namespace")


class CoverServerMetaRoutes:
    """ASGI middleware: with auth on, cover the server's /metrics, /docs and /openapi.json.

    langgraph-api serves these before (and outside) its auth middleware, and custom routes
    cannot shadow them; as the custom app's middleware this runs first for every request.
    CORS preflights pass (browsers send them without credentials); every other path is
    left to the server's own auth.
    """

    def __init__(self, app: ASGIApp) -> None:
        """Wrap ``app``."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 401 for a covered path without a valid token; pass everything else on."""
        if (
            scope["type"] == "http"
            and scope["path"] in COVERED_SERVER_PATHS
            and scope["method"] != "OPTIONS"
            and get_settings().auth_jwt_secret
        ):
            try:
                verify_authorization(Headers(scope=scope).get("authorization"))
            except Auth.exceptions.HTTPException as exc:
                response = JSONResponse(
                    {"detail": exc.detail},
                    status_code=exc.status_code,
                    headers=dict(exc.headers) if exc.headers else None,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
