"""The web view: one static page, its script modules and its stylesheet, under ``/ui/``.

The page reads everything through the public /v1 routes, and links to them relative to itself, so it
works behind any path prefix. Its policy allows this origin only: no inline script, no other host. The
script is ES modules that import each other by relative path, so ``script-src 'self'`` covers them all.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from stoker_api.ui.assets import BASE_HEADERS, Shelf, page_headers, send

STATIC = files("stoker_api.ui") / "static"
# Every file the page loads; app.js imports the other modules. A file not listed here is a 404.
SCRIPTS = ["app.js", "api.js", "board.js", "format.js", "job.js", "notice.js", "route.js"]
SHELF = Shelf(STATIC, ["index.html", "app.css", *SCRIPTS])
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

router = APIRouter(include_in_schema=False)


@router.get("/ui")
async def ui_redirect() -> RedirectResponse:
    # Relative, so a proxy's path prefix survives: the page's own links are relative to /ui/.
    return RedirectResponse("ui/", headers=BASE_HEADERS)


@router.get("/ui/")
async def ui_page(request: Request) -> Response:
    return send(request, SHELF.get("index.html"), page_headers(CSP))


@router.get("/ui/assets/{name}")
async def ui_asset(name: str, request: Request) -> Response:
    return send(request, SHELF.get(name))
