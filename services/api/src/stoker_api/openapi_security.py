"""The key in the OpenAPI document: every ``/v1/`` operation takes a bearer key, so Swagger UI's
Authorize button sends it and generated clients know to. The key itself is checked by ``RequireKey``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from stoker_api.auth import PROTECTED_PREFIX

SCHEME = "bearerKey"


def document_bearer_keys(app: FastAPI) -> None:
    """Replace ``app.openapi`` with one that declares the bearer scheme on the protected operations."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME] = {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key (API_API_KEYS or API_ADMIN_KEYS) as `Authorization: Bearer <key>`.",
            }
            for path, operations in schema.get("paths", {}).items():
                if path.startswith(PROTECTED_PREFIX):
                    for operation in operations.values():
                        operation["security"] = [{SCHEME: []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
