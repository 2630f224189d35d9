"""The web view's page and assets: served by the API itself, relative links only, a strict policy."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from stoker_api.ui.pages import STATIC
from tests.api.conftest import error_of, make_client
from tests.api.ui.references import css_references, external, html_references, script_references

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
    assert "<script>" not in r.text  # the scripts are files, so 'self' covers them


def _loaded(client: TestClient) -> dict[str, httpx.Response]:
    """Every file the page makes the browser fetch, by path: its links, then each script's imports in turn."""
    refs = html_references(client.get("/ui/").text)
    assert not external(PAGE, refs), refs
    todo = [urljoin(PAGE, ref) for ref in refs if not ref.startswith(("data:", "#", "../"))]
    found: dict[str, httpx.Response] = {}
    while todo:
        url = todo.pop()
        path = urlsplit(url).path
        if path in found:
            continue
        r = found[path] = client.get(url)
        assert r.status_code == 200, path
        if path.endswith(".js"):
            imports = script_references(r.text)
            assert all(ref.startswith(("./", "../")) for ref in imports), (path, imports)  # bare names do not load
            assert not external(url, imports), (path, imports)
            todo += [urljoin(url, ref) for ref in imports]
    return found


def test_every_asset_the_page_references_is_served_here(client: TestClient) -> None:
    loaded = _loaded(client)
    scripts = {f"/ui/assets/{f.name}" for f in STATIC.iterdir() if f.name.endswith(".js")}
    assert "/ui/assets/app.js" in scripts
    assert sorted(loaded) == sorted({"/ui/assets/app.css", *scripts})  # every module is reached from the page
    for path, r in loaded.items():
        assert r.headers["x-content-type-options"] == "nosniff", path
        if path.endswith(".js"):
            assert r.headers["content-type"] == "text/javascript; charset=utf-8", path
    css = loaded["/ui/assets/app.css"]
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert not external(PAGE, css_references(css.text))


def test_the_script_is_a_module_so_its_imports_load(client: TestClient) -> None:
    assert '<script type="module" src="assets/app.js"></script>' in client.get("/ui/").text


def test_no_script_names_another_host_or_writes_html(client: TestClient) -> None:
    scripts = {path: r.text for path, r in _loaded(client).items() if path.endswith(".js")}
    assert len(scripts) > 1, sorted(scripts)
    for path, script in scripts.items():
        assert "://" not in script, path
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in script, (path, sink)


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
