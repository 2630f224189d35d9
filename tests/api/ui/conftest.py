"""The browser tests' stack: a real API (user and admin keys) and a real worker on a database of the
session's Redis that no other suite flushes; and a fresh offline Chromium per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.api.ui.browser import Chromium, Page
from tests.support.processes import API_KEY, start_api, start_worker, wait_for_task

ADMIN_KEY = "ui-admin-key-0123456789abcdef"
TASKS = "stoker_worker.tasks.echo,tests.client.progress_tasks,tests.api.ui.ui_tasks"
ROOT = Path(__file__).resolve().parents[3]
DB = 8  # the API suite flushes database 0 before each test, the client suite uses 7


@dataclass(frozen=True)
class Stack:
    url: str
    user_key: str
    admin_key: str


@pytest.fixture(scope="module")
def stack(newest_redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base, _, db = newest_redis_url.rpartition("/")
    url = f"{base}/{DB}" if db.isdigit() else f"{newest_redis_url.rstrip('/')}/{DB}"
    redis.Redis.from_url(url).flushdb()
    tmp = tmp_path_factory.mktemp("ui-stack")
    api, api_url = start_api(url, tmp, env={"API_ADMIN_KEYS": ADMIN_KEY, "API_CATALOG_TTL_S": "0"})
    worker = start_worker(url, tmp, "ui-worker", env={"PYTHONPATH": str(ROOT)}, tasks=TASKS, concurrency="2")
    try:
        wait_for_task(api_url, "until_file")
        yield Stack(url=api_url, user_key=API_KEY, admin_key=ADMIN_KEY)
    finally:
        worker.terminate()
        api.terminate()


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    return Chromium.require()


@pytest.fixture
def page(chromium: Chromium, stack: Stack, tmp_path: Path) -> Iterator[Page]:
    # The browser is looked for first: without one, no stack is started only to be skipped.
    with chromium.start(tmp_path / "profile") as driver:
        yield Page(driver, stack.url)
