"""Swagger UI at ``/docs`` from the files of the ``swagger-ui-bundle-v2`` package, never a CDN.

FastAPI's own ``/docs`` and ``/redoc`` load their scripts from a CDN and stay blank offline, so the app
turns them off and serves this page instead.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from stoker_api.ui.assets import Shelf, page_headers, send

SHELF = Shelf(swagger_ui_path, ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"])
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


def _csp(html: str) -> str:
    """This origin only; the page's one inline script (Swagger UI's settings) is allowed by its hash."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {hashes}",
            # Swagger UI sets style attributes as it renders.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


@router.get("/docs")
async def swagger_page(request: Request) -> Response:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    page = get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} API",
        swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
        swagger_favicon_url=f"{root}/docs/assets/favicon-32x32.png",
        # Swagger UI's default posts the document to a public validator; nothing here leaves the API.
        swagger_ui_parameters={"validatorUrl": None},
    )
    html = bytes(page.body).decode()
    return Response(html, media_type="text/html; charset=utf-8", headers=page_headers(_csp(html)))


@router.get("/docs/assets/{name}")
async def swagger_asset(name: str, request: Request) -> Response:
    return send(request, SHELF.get(name))
