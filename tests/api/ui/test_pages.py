"""The web view's page and assets: served by the API itself, relative links only, a strict policy."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import error_of, make_client
from tests.api.ui.references import css_references, external, html_references

PAGE = "http://testserver/ui/"


def test_ui_redirects_to_the_page_relatively(client: TestClient) -> None:
    r = client.get("/ui", follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == "ui/"  # keeps any path prefix a proxy puts in front


def test_the_page_needs_no_key(redis_url: str) -> None:
    with make_client(redis_url, key=None) as anonymous:
        r = anonymous.get("/ui/")
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert "<title>Stoker</title>" in r.text


def test_the_page_allows_this_origin_only_and_no_inline_script(client: TestClient) -> None:
    r = client.get("/ui/")
    policy = dict(part.split(" ", 1) for part in r.headers["content-security-policy"].split("; "))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in r.text  # the one script is a file, so 'self' covers it


def test_every_asset_the_page_references_is_served_here(client: TestClient) -> None:
    html = client.get("/ui/").text
    refs = html_references(html)
    assert not external(PAGE, refs), refs
    fetched = [ref for ref in refs if not ref.startswith(("data:", "#", "../"))]
    assert sorted(fetched) == ["assets/app.css", "assets/app.js"]
    for ref in fetched:
        r = client.get(f"/ui/{ref}")
        assert r.status_code == 200, ref
        assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/ui/assets/app.js").headers["content-type"] == "text/javascript; charset=utf-8"
    css = client.get("/ui/assets/app.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert not external(PAGE, css_references(css.text))


def test_the_script_names_no_other_host_and_writes_no_html(client: TestClient) -> None:
    script = client.get("/ui/assets/app.js").text
    assert "://" not in script
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink


def test_an_asset_is_revalidated_by_its_etag(client: TestClient) -> None:
    first = client.get("/ui/assets/app.js")
    assert first.headers["cache-control"] == "no-cache"
    again = client.get("/ui/assets/app.js", headers={"If-None-Match": f'"x", {first.headers["etag"]}'})
    assert again.status_code == 304
    assert again.content == b""
    assert client.get("/ui/assets/app.js", headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize("name", ["nope.js", "index.htm", "..%2F__init__.py", "%2E%2E%2Fassets.py"])
def test_an_unknown_asset_is_a_json_404(client: TestClient, name: str) -> None:
    r = client.get(f"/ui/assets/{name}")
    assert r.status_code == 404
    assert error_of(r)["code"] in {"asset_not_found", "not_found"}


def test_other_methods_are_405_with_the_error_shape(client: TestClient) -> None:
    r = client.post("/ui/")
    assert r.status_code == 405
    assert error_of(r)["code"] == "method_not_allowed"


def test_the_page_is_not_an_api_operation(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/ui", "/docs"))]
