"""The custom routes' API documentation at /icp/docs, served without any other host.

FastAPI's default page loads Swagger UI from a CDN, which leaves an offline or air-gapped
user a blank page; here the assets come from the swagger-ui-bundle-v2 package.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(tags=["docs"], include_in_schema=False)

ASSETS_URL = "/icp/docs/assets"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
_DIR = Path(swagger_ui_bundle.swagger_ui_path)


@router.get("/icp/docs")
async def docs() -> HTMLResponse:
    """Serve Swagger UI for the custom routes, with local assets."""
    return get_swagger_ui_html(
        openapi_url="/icp/openapi.json",
        title="ICP industry search: custom routes",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
    )


@router.get(ASSETS_URL + "/{name}")
async def docs_asset(name: str) -> FileResponse:
    """Serve one Swagger UI asset from the installed bundle."""
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"no docs asset {name!r}")
    return FileResponse(_DIR / name, media_type=media_type)
