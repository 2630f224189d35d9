"""Files served from package data: read once, sent with an ETag so a browser revalidates instead of refetching."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib.resources.abc import Traversable
from pathlib import PurePosixPath

from fastapi import Request, Response

from stoker_api.errors import ApiError

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
# On every page and asset: no MIME sniffing, no referrer leaving the API, never framed.
BASE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str

    @property
    def etag(self) -> str:
        return f'"{hashlib.sha256(self.body).hexdigest()[:32]}"'


def page_headers(csp: str) -> dict[str, str]:
    """Headers for an HTML page: its Content-Security-Policy, and revalidated on every load."""
    return {**BASE_HEADERS, "Content-Security-Policy": csp, "Cache-Control": "no-cache"}


def send(request: Request, asset: Asset, headers: Mapping[str, str] | None = None) -> Response:
    """``asset`` as a response, or 304 when the browser's copy (``If-None-Match``) is current."""
    etag = asset.etag
    all_headers = {**BASE_HEADERS, "Cache-Control": "no-cache", **(headers or {}), "ETag": etag}
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=all_headers)
    return Response(asset.body, media_type=asset.media_type, headers=all_headers)


class Shelf:
    """A fixed list of files from one folder; a name not on the list is a 404, so no path reaches the disk."""

    def __init__(self, folder: Traversable, names: Iterable[str]) -> None:
        self._folder = folder
        self._names = frozenset(names)

    @cached_property
    def _assets(self) -> dict[str, Asset]:
        return {name: Asset(self._folder.joinpath(name).read_bytes(), _media_type(name)) for name in self._names}

    def get(self, name: str) -> Asset:
        found = self._assets.get(name)
        if found is None:
            raise ApiError(404, "asset_not_found", f"no asset named {name!r}")
        return found


def _media_type(name: str) -> str:
    return MEDIA_TYPES.get(PurePosixPath(name).suffix, "application/octet-stream")
