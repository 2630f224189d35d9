"""API fixtures: the app built by ``create_app`` on a real Redis, driven through its lifespan."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from stoker_api import ApiSettings, create_app
from stoker_queue import RedisSettings


def make_client(redis_url: str, **settings: object) -> TestClient:
    app = create_app(ApiSettings(redis=RedisSettings(redis_url=redis_url), **settings))  # type: ignore[arg-type]
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(newest_redis_url: str) -> Iterator[TestClient]:
    redis.Redis.from_url(newest_redis_url).flushdb()
    with make_client(newest_redis_url) as c:
        yield c
