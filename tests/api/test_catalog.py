"""The task catalog cache: submits that find it stale together share one read of Redis, and a schema is
compiled once, not again on every read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from stoker_api import catalog as catalog_module
from stoker_api.catalog import TaskCatalog
from stoker_api.errors import ApiError
from stoker_queue import Broker, RedisSettings, Registry, TaskInfo

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


class CountingRegistry(Registry):
    reads = 0

    async def list_tasks(self) -> list[TaskInfo]:
        self.reads += 1
        return await super().list_tasks()


@pytest.fixture
async def registry(newest_redis_url: str) -> AsyncIterator[CountingRegistry]:
    broker = Broker.from_settings(RedisSettings(redis_url=newest_redis_url))
    await broker.redis.flushdb()
    reg = CountingRegistry(broker)
    await reg.publish_tasks([TaskInfo(name="count", queue="default", input_schema=SCHEMA)], queues=["default"])
    yield reg
    await broker.close()


async def test_submits_that_find_the_cache_stale_share_one_read(registry: CountingRegistry) -> None:
    catalog = TaskCatalog(registry, ttl_s=60)
    await asyncio.gather(*(catalog.check("count", {"n": i}) for i in range(20)))
    assert registry.reads == 1
    with pytest.raises(ApiError) as refused:
        await catalog.check("count", {"n": "one"})
    assert refused.value.status == 422


async def test_a_schema_is_compiled_once_across_reads(
    registry: CountingRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[object] = []
    real = catalog_module._validator
    monkeypatch.setattr(catalog_module, "_validator", lambda schema: compiled.append(schema) or real(schema))
    catalog = TaskCatalog(registry, ttl_s=0)  # every check reads the catalog again
    for i in range(5):
        await catalog.check("count", {"n": i})
    assert registry.reads == 5
    assert compiled == [SCHEMA]
    changed = {**SCHEMA, "properties": {"n": {"type": "integer", "minimum": 0}}}
    await registry.publish_tasks([TaskInfo(name="count", queue="default", input_schema=changed)], queues=["default"])
    with pytest.raises(ApiError):
        await catalog.check("count", {"n": -1})  # the new schema holds at once
    assert compiled == [SCHEMA, changed]
