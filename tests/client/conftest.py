"""The client suite's stack: a real API (user and admin keys) and a real worker serving ``echo`` and
the suite's own tasks, on a database of the session's Redis that no other suite touches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.support.processes import API_KEY, start_api, start_worker, wait_for_task

ADMIN_KEY = "client-admin-key-0123456789"
TASKS = "stoker_worker.tasks.echo,tests.client.progress_tasks"
ROOT = Path(__file__).resolve().parents[2]
DB = 7  # other suites flush database 0 of the same server


@dataclass(frozen=True)
class Stack:
    url: str
    user_key: str
    admin_key: str
    redis_url: str


def _own_database(url: str) -> str:
    base, _, db = url.rpartition("/")
    return f"{base}/{DB}" if db.isdigit() else f"{url.rstrip('/')}/{DB}"


@pytest.fixture(scope="package")
def stack(newest_redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    url = _own_database(newest_redis_url)
    redis.Redis.from_url(url).flushdb()
    tmp = tmp_path_factory.mktemp("client-stack")
    api, base = start_api(url, tmp, env={"API_ADMIN_KEYS": ADMIN_KEY, "API_CATALOG_TTL_S": "0"})
    worker = start_worker(url, tmp, "client-worker", env={"PYTHONPATH": str(ROOT)}, tasks=TASKS, concurrency="4")
    try:
        wait_for_task(base, "steps")
        yield Stack(url=base, user_key=API_KEY, admin_key=ADMIN_KEY, redis_url=url)
    finally:
        worker.terminate()
        api.terminate()
