"""Headless Chromium for the web view's tests, with no way to reach anything but this machine.

Every host but loopback goes to a proxy on a closed port and no name resolves, so a page that needed a
CDN would break here; the DevTools log lists every request the page made, for the tests to check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.support.tools import require_tool

INSTALL = "apt-get install -y chromium chromium-driver"
T = TypeVar("T")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--window-size=1400,1000",
    # Offline: a dead proxy for every host but loopback (bypassed by default), and no DNS at all.
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@dataclass(frozen=True)
class Chromium:
    """Debian's chromium and its own chromedriver, so Selenium Manager never downloads a driver."""

    binary: str
    driver: str

    @classmethod
    def require(cls) -> Chromium:
        """Both paths; the test skips where either is missing, and fails in CI, which installs them."""
        return cls(binary=require_tool("chromium", INSTALL), driver=require_tool("chromedriver", INSTALL))

    @contextmanager
    def start(self, profile: Path) -> Iterator[WebDriver]:
        options = Options()
        options.binary_location = self.binary
        for flag in [*FLAGS, f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        driver = webdriver.Chrome(service=Service(self.driver), options=options)
        try:
            yield driver
        finally:
            driver.quit()


class Page:
    """The web view as a person uses it: sign in, wait for what the page shows, click.

    The page redraws its tables every few seconds, so reads happen in one script call (never a stale
    element), and clicks are retried on an element that a redraw replaced.
    """

    def __init__(self, driver: WebDriver, base: str) -> None:
        self.driver = driver
        self.base = base

    def open(self, path: str, *, key: str | None = None) -> None:
        self.driver.get(f"{self.base}{path}")
        if key is not None:
            self.wait(lambda: self.visible("#key-input"), what="the key form")
            self.find("#key-input").send_keys(key)
            self.click("#key-form button[type=submit]")
            self.wait(lambda: self.visible("#board"), what="the board")

    def wait(self, found: Callable[[], T], timeout: float = 30, what: str = "") -> T:
        def attempt(_: WebDriver) -> T | None:
            return found() or None

        waiting = WebDriverWait(
            self.driver, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
        )
        return waiting.until(attempt, what or None)

    def find(self, selector: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def click(self, selector: str) -> None:
        def clicked() -> bool:
            self.find(selector).click()
            return True

        self.wait(clicked, what=f"a click on {selector}")

    def choose(self, selector: str, value: str) -> None:
        """Pick ``value`` in the ``<select>`` at ``selector``, as a person does (the page sees the change)."""

        def chosen() -> bool:
            Select(self.find(selector)).select_by_value(value)
            return True

        self.wait(chosen, what=f"{value!r} in {selector}")

    def texts(self, selector: str) -> list[str]:
        found = self.driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText)", selector
        )
        return [str(text) for text in found]

    def text(self, selector: str) -> str:
        return next(iter(self.texts(selector)), "")

    def count(self, selector: str) -> int:
        return len(self.texts(selector))

    def visible(self, selector: str) -> bool:
        script = "const e = document.querySelector(arguments[0]); return !!e && e.checkVisibility()"
        return bool(self.driver.execute_script(script, selector))

    def requested_urls(self) -> list[str]:
        """Every URL the browser asked for since the last call (DevTools' network log), but its own pages."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return [url for url in urls if not url.startswith("chrome://")]  # the start page, before ours

    def console_errors(self) -> list[str]:
        """Errors in the console: scripts, and resources the page's policy refused. An HTTP error status
        the page handles (the 401 that asks for a key) is left out."""
        logged = self.driver.get_log("browser")
        return [e["message"] for e in logged if e["level"] == "SEVERE" and e["source"] != "network"]
