"""What a page makes the browser fetch: ``src`` and ``href`` in its HTML, ``url()`` and ``@import`` in CSS,
and the modules a script imports."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)|@import\s+["']([^"']+)""")
# `import … from "x"` (over several lines too), `export … from "x"`, `import "x"`, and `import("x")`.
_JS_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^"';]*?\bfrom\s*["']([^"']+)["']"""
    r"""|^\s*import\s*["']([^"']+)["']"""
    r"""|\bimport\(\s*["']([^"']+)["']""",
    re.MULTILINE,
)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in ("src", "href") and value]


def html_references(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.found


def css_references(css: str) -> list[str]:
    return [a or b for a, b in _CSS_URL.findall(css)]


def script_references(script: str) -> list[str]:
    return ["".join(groups) for groups in _JS_IMPORT.findall(script)]


def external(page_url: str, references: list[str]) -> list[str]:
    """The references that leave the page's origin (``data:`` and fragments stay)."""
    origin = urlsplit(page_url).netloc
    out = []
    for ref in references:
        target = urlsplit(urljoin(page_url, ref))
        if target.scheme == "data" or ref.startswith("#"):
            continue
        if target.scheme not in ("http", "https") or target.netloc != origin:
            out.append(ref)
    return out
