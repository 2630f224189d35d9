"""Redis credentials given apart from REDIS_URL: any characters, an ACL user, never shown in errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis
from pydantic import ValidationError

from stoker_queue import Broker, RedisSettings
from stoker_queue.settings import settings_errors
from tests.support.redis_server import RedisProcess, find_binaries

PASSWORD = "p@ss:w/rd%41#?&=0123456789"  # a URL would need each of these escaped


@pytest.fixture
async def guarded() -> AsyncIterator[RedisProcess]:
    binaries = find_binaries()
    if not binaries:
        pytest.skip("no redis-server on this machine")
    server = RedisProcess(binaries[max(binaries)], password=PASSWORD)
    server.start()
    admin = redis.Redis(port=server.port, password=PASSWORD)
    admin.execute_command("ACL", "SETUSER", "stoker", "on", f">{PASSWORD}x", "~stoker:*", "+@all")
    admin.close()
    yield server
    server.close()


async def _ping(settings: RedisSettings) -> bool:
    broker = Broker.from_settings(settings)
    try:
        return bool(await broker.redis.ping())
    finally:
        await broker.close()


async def test_a_password_with_url_characters_needs_no_escaping(guarded: RedisProcess) -> None:
    assert await _ping(RedisSettings(redis_url=guarded.url, redis_password=PASSWORD))


async def test_an_acl_user_with_its_own_password(guarded: RedisProcess) -> None:
    settings = RedisSettings(redis_url=guarded.url, redis_username="stoker", redis_password=PASSWORD + "x")
    assert await _ping(settings)
    with pytest.raises(redis.AuthenticationError):
        await _ping(RedisSettings(redis_url=guarded.url, redis_username="stoker", redis_password=PASSWORD))


async def test_without_the_password_redis_refuses(guarded: RedisProcess) -> None:
    with pytest.raises(redis.AuthenticationError):
        await _ping(RedisSettings(redis_url=guarded.url))


def test_the_password_is_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_PASSWORD", PASSWORD)
    monkeypatch.setenv("REDIS_MAX_CONNECTIONS", "1")  # invalid: the error names the variable only
    with pytest.raises(ValidationError) as caught:
        RedisSettings()
    assert PASSWORD not in " ".join(settings_errors(caught.value, RedisSettings))
    monkeypatch.delenv("REDIS_MAX_CONNECTIONS")
    assert PASSWORD not in repr(RedisSettings(redis_password=PASSWORD))
