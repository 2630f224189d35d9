"""API fixtures: the app built by ``create_app`` on a real Redis, with keys and a published catalog."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from stoker_api import ApiSettings, create_app
from stoker_queue import Broker, RedisSettings, Registry, TaskInfo
from tests.support.redis_server import RedisProcess, find_binaries

USER_KEY = "user-key-0123456789abcdef"
ADMIN_KEY = "admin-key-0123456789abcdef"
SUM_SCHEMA = {
    "type": "object",
    "properties": {"values": {"type": "array", "items": {"type": "number"}, "minItems": 1}},
    "required": ["values"],
    "additionalProperties": False,
}
CATALOG = [
    TaskInfo(name="echo", queue="default"),
    TaskInfo(name="sum", queue="math", input_schema=SUM_SCHEMA, max_attempts=5, timeout_s=30),
]


def settings_for(redis_url: str, **overrides: object) -> ApiSettings:
    values: dict[str, object] = {
        "redis": RedisSettings(redis_url=redis_url),
        "api_keys": [USER_KEY],
        "admin_keys": [ADMIN_KEY],
        "catalog_ttl_s": 0,
    }
    return ApiSettings(**(values | overrides))  # type: ignore[arg-type]


def make_client(redis_url: str, key: str | None = USER_KEY, **overrides: object) -> TestClient:
    client = TestClient(create_app(settings_for(redis_url, **overrides)), raise_server_exceptions=False)
    if key:
        client.headers["Authorization"] = f"Bearer {key}"
    return client


def publish_catalog(redis_url: str) -> None:
    async def run() -> None:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        await Registry(broker).publish_tasks(CATALOG)
        await broker.close()

    asyncio.run(run())


@pytest.fixture
def redis_url(newest_redis_url: str) -> str:
    redis.Redis.from_url(newest_redis_url).flushdb()
    publish_catalog(newest_redis_url)
    return newest_redis_url


@pytest.fixture
def client(redis_url: str) -> Iterator[TestClient]:
    with make_client(redis_url) as c:
        yield c


@pytest.fixture
def admin(redis_url: str) -> Iterator[TestClient]:
    with make_client(redis_url, key=ADMIN_KEY) as c:
        yield c


def error_of(response: object) -> dict[str, object]:
    """The error object, after checking the shape every error answer has."""
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]  # type: ignore[no-any-return]


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    """A Redis this test may stop, start and pause (an outage of its own)."""
    binaries = find_binaries()
    if not binaries:
        pytest.skip("no redis-server binary")
    proc = RedisProcess(binaries[max(binaries)])
    proc.start()
    yield proc
    proc.close()
