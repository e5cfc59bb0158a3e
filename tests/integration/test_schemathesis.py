"""Generated requests against the custom routes' own OpenAPI document (/icp/openapi.json).

Schemathesis reads the app's spec in-process and generates, per operation,
requests that fit the schema (positive) and requests that break it (negative). They are
sent through ``httpx.ASGITransport`` on the test's event loop (the pool is the process's
pool, pointed at a fresh sample database by ``app_db``), and schemathesis's own checks judge
each response: never a 5xx, a documented status and content type, a body that matches the
documented schema, and negative data always rejected with a 4xx.

Driven from a plain hypothesis test rather than schemathesis's pytest plugin: its ASGI
transport runs the app in a thread with its own event loop (and lifespan) per call, which
the process-wide pool and the session-scoped loop of this suite do not allow.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import app

pytestmark = pytest.mark.integration

# The document /icp/openapi.json serves (test_the_spec_is_served checks they are the same).
# Not loaded with schemathesis.openapi.from_asgi: its starlette test client trips an anyio
# deprecation warning on import, an error in this suite.
SCHEMA = schemathesis.openapi.from_dict(app.openapi())
OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# ICP_FUZZ_EXAMPLES raises the budget for a deeper local run (CI keeps it small).
MAX_EXAMPLES = int(os.environ.get("ICP_FUZZ_EXAMPLES", "25"))


async def test_the_spec_is_served() -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://icp.test") as client:
        response = await client.get("/icp/openapi.json")
    assert response.status_code == 200
    assert response.json() == app.openapi()


def test_the_spec_documents_the_custom_routes() -> None:
    assert {"POST /jobs/staging_upsert", "GET /jobs", "GET /jobs/{job_id}"} <= set(OPERATIONS)
    # Only our prefixes: anything else would shadow the LangGraph server's own routes.
    prefixes = ("/jobs", "/leads", "/companies", "/icp", "/app")
    assert all(label.split(" ", 1)[1].startswith(prefixes) for label in OPERATIONS)


async def _send(client: httpx.AsyncClient, case: Any) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url="http://icp.test")
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": kwargs.get("headers") or {},
        "params": kwargs.get("params"),
    }
    for key in ("json", "data", "content"):
        if key in kwargs:
            request["content" if key == "data" else key] = kwargs[key]
    cookies = kwargs.get("cookies")
    if cookies:
        request["headers"]["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return await client.request(**request)


def _negatable(label: str) -> bool:
    """Whether the schema constrains any input of the operation (else nothing is invalid)."""
    operation = OPERATIONS[label]
    return bool(list(operation.query) or list(operation.body))


CASES = [
    pytest.param(label, mode, id=f"{label} {mode.value}")
    for label in sorted(OPERATIONS)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _negatable(label)
]


@pytest.mark.parametrize(("label", "mode"), CASES)
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@given(data=st.data())
async def test_generated_requests(
    app_db: str, label: str, mode: GenerationMode, data: st.DataObject
) -> None:
    case = data.draw(OPERATIONS[label].as_strategy(generation_mode=mode), label="case")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport) as client:
        response = await _send(client, case)
    case.validate_response(response, checks=CHECKS)
