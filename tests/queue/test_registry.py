"""The worker registry and the task catalog."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from stoker_queue import Broker, FakeClock, Registry, TaskInfo, WorkerInfo

pytestmark = pytest.mark.every_redis  # the protocol, also on a Redis Cluster and a TLS Redis


def _worker(worker_id: str, **kw: object) -> WorkerInfo:
    return WorkerInfo(id=worker_id, queues=["q"], started_at=datetime.now(UTC), **kw)  # type: ignore[arg-type]


async def test_heartbeats_list_live_workers_and_forget_silent_ones(live_broker: Broker) -> None:
    registry = Registry(live_broker)
    await registry.heartbeat(_worker("a", device="cuda:0", gpu_name="NVIDIA H100", slots=4, busy=2), ttl_s=30)
    await registry.heartbeat(_worker("b"), ttl_s=0.1)
    workers = {w.id: w for w in await registry.list_workers()}
    assert set(workers) == {"a", "b"}
    assert workers["a"].gpu_name == "NVIDIA H100" and workers["a"].busy == 2 and workers["a"].last_heartbeat
    await asyncio.sleep(0.2)
    assert [w.id for w in await registry.list_workers()] == ["a"]
    await registry.remove_worker("a")
    assert await registry.list_workers() == []


async def test_task_catalog_round_trips_schemas(broker: Broker) -> None:
    registry = Registry(broker)
    schema = {"type": "object", "properties": {"texts": {"type": "array"}}, "required": ["texts"]}
    await registry.publish_tasks([TaskInfo(name="embed", queue="gpu", input_schema=schema, batch_size=32)])
    await registry.publish_tasks([TaskInfo(name="echo", queue="default")])
    assert [t.name for t in await registry.list_tasks()] == ["echo", "embed"]
    embed = await registry.get_task("embed")
    assert embed is not None and embed.input_schema == schema and embed.batch_size == 32
    assert await registry.get_task("nope") is None


async def test_the_catalog_records_every_queue_that_serves_a_task(broker: Broker, clock: FakeClock) -> None:
    registry = Registry(broker)
    info = TaskInfo(name="embed", queue="embed")
    await registry.publish_tasks([info], queues=["embed"])
    clock.advance(5)
    await registry.publish_tasks([info], queues=["gpu-small", "embed"])  # another pool serves it too
    (listed,) = await registry.list_tasks()
    assert listed.queues == ["embed", "gpu-small"]
    assert listed.served_at is not None and listed.served_at.timestamp() * 1000 == clock.current_ms
    fetched = await registry.get_task("embed")
    assert fetched is not None and fetched.queues == ["embed", "gpu-small"]
    await registry.publish_tasks([TaskInfo(name="old", queue="q")])  # a publisher that names no queue
    old = await registry.get_task("old")
    assert old is not None and old.queues == [] and old.served_at is None
