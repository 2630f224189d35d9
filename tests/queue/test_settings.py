"""``REDIS_CLUSTER``: read from the environment, refused with a URL a cluster cannot serve."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from stoker_queue import Broker, RedisSettings
from stoker_queue.settings import settings_errors


def test_the_cluster_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not RedisSettings().redis_cluster
    monkeypatch.setenv("REDIS_CLUSTER", "true")
    monkeypatch.setenv("REDIS_URL", "rediss://redis.example:6379/0")
    assert RedisSettings().redis_cluster


@pytest.mark.parametrize("url", ["unix:///run/redis.sock", "redis://redis.example:6379/3"])
def test_a_cluster_needs_tcp_and_database_zero(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RedisSettings(redis_url=url, redis_cluster=True)
    assert "database 0" in " ".join(settings_errors(caught.value, RedisSettings))


async def test_a_cluster_broker_opens_no_connection_until_used() -> None:
    broker = Broker.from_settings(RedisSettings(redis_url="redis://127.0.0.1:1/0", redis_cluster=True))
    assert broker.cluster
    await broker.close()
