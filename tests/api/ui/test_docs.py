"""/docs is Swagger UI from the API's own files: it loads with no network, and ReDoc (CDN-only) is off."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.testclient import TestClient

from stoker_api import create_app
from tests.api.conftest import error_of, settings_for
from tests.api.ui.references import css_references, external, html_references

PAGE = "http://testserver/docs"


def _inline_scripts(html: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", html, re.DOTALL)


def test_docs_reference_only_files_the_api_serves(client: TestClient) -> None:
    html = client.get("/docs").text
    refs = html_references(html)
    assert not external(PAGE, refs), refs
    assert set(refs) == {
        "/docs/assets/swagger-ui.css",
        "/docs/assets/favicon-32x32.png",
        "/docs/assets/swagger-ui-bundle.js",
    }
    types = {client.get(ref).headers["content-type"] for ref in refs}
    assert types == {"text/css; charset=utf-8", "image/png", "text/javascript; charset=utf-8"}
    css = client.get("/docs/assets/swagger-ui.css").text
    assert css_references(css), "the check found no url() at all"
    assert not external(PAGE, css_references(css))


def test_swagger_ui_loads_this_apis_document_and_no_validator(client: TestClient) -> None:
    (settings,) = _inline_scripts(client.get("/docs").text)
    assert "url: '/openapi.json'" in settings
    assert '"validatorUrl": null' in settings  # Swagger UI would otherwise post the document to a public validator
    assert client.get("/openapi.json").status_code == 200


def test_the_policy_allows_exactly_the_inline_settings_script(client: TestClient) -> None:
    r = client.get("/docs")
    (settings,) = _inline_scripts(r.text)
    digest = base64.b64encode(hashlib.sha256(settings.encode()).digest()).decode()
    policy = dict(part.split(" ", 1) for part in r.headers["content-security-policy"].split("; "))
    assert policy["script-src"] == f"'self' 'sha256-{digest}'"
    assert policy["connect-src"] == "'self'"
    assert policy["default-src"] == "'none'"


def test_a_path_prefix_reaches_every_url_of_the_page(redis_url: str) -> None:
    with TestClient(create_app(settings_for(redis_url)), root_path="/stoker") as prefixed:
        html = prefixed.get("/docs").text
    assert all(ref.startswith("/stoker/docs/assets/") for ref in html_references(html))
    assert "url: '/stoker/openapi.json'" in html


def test_redoc_is_off_rather_than_loaded_from_a_cdn(client: TestClient) -> None:
    r = client.get("/redoc")
    assert r.status_code == 404
    assert error_of(r)["code"] == "not_found"


def test_an_unknown_docs_asset_is_a_json_404(client: TestClient) -> None:
    r = client.get("/docs/assets/swagger-ui.js.map")
    assert r.status_code == 404
    assert error_of(r)["code"] == "asset_not_found"
