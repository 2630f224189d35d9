"""The replica count KEDA would compute, from real list lengths in Redis and the rendered ScaledObject.

Jobs go in and out through the queue core; ``LLEN`` is read for exactly the triggers' ``listName``s; the
rendered ``scalingModifiers.formula`` combines them; KEDA's activation and the HPA's AverageValue rule
turn the result into replicas.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from stoker_queue import Broker, ClaimedJob, Consumer, JobRequest, Priority, Producer, RedisSettings
from tests.deploy.chart import Doc, one, pool_name, render_yaml

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def evaluate(formula: str, values: Mapping[str, float]) -> float:
    """The chart's formulas: trigger names joined by ``+``. Anything else is refused, not guessed at."""
    if not re.fullmatch(rf"{IDENT}( \+ {IDENT})*", formula):
        raise ValueError(f"not a sum of trigger names: {formula!r}")
    return sum(values[name] for name in formula.split(" + "))


def desired_replicas(spec: dict[str, Any], metric: float, current: int) -> int:
    """KEDA activation, then the HPA on one AverageValue external metric, clamped to the ScaledObject's bounds."""
    modifiers = spec["advanced"]["scalingModifiers"]
    target, activation = float(modifiers["target"]), float(modifiers.get("activationTarget", "0"))
    low, high = int(spec.get("minReplicaCount", 0)), int(spec.get("maxReplicaCount", 100))
    if metric <= activation and low == 0:
        return 0  # inactive: KEDA scales to zero (after cooldownPeriod)
    wanted = math.ceil(metric / target) if metric > 0 else current
    return min(high, max(low, 1, wanted))


class Pool:
    """One rendered pool's ScaledObject against a real Redis."""

    def __init__(self, scaled_object: Doc, redis_url: str) -> None:
        self.spec = scaled_object["spec"]
        self.lists = {t["name"]: t["metadata"]["listName"] for t in self.spec["triggers"]}
        self.redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
        self.replicas = 0

    async def metric(self) -> float:
        lengths: dict[str, float] = {name: await self.redis.llen(key) for name, key in self.lists.items()}
        return evaluate(self.spec["advanced"]["scalingModifiers"]["formula"], lengths)

    async def scale(self) -> int:
        self.replicas = desired_replicas(self.spec, await self.metric(), self.replicas)
        return self.replicas


@pytest.fixture
async def broker(newest_redis_url: str) -> AsyncIterator[Broker]:
    b = Broker.from_settings(RedisSettings(redis_url=newest_redis_url))
    await b.redis.flushdb()
    yield b
    await b.close()


PoolFactory = Callable[..., Pool]


@pytest.fixture
async def make_pool(newest_redis_url: str, tmp_path: Path) -> AsyncIterator[PoolFactory]:
    """Renders a pool ``gpu`` with the given pool values; closes what it opened."""
    made: list[Pool] = []

    def make(**values: Any) -> Pool:
        made.append(Pool(_scaled_object(tmp_path, **values), newest_redis_url))
        return made[-1]

    yield make
    for pool in made:
        await pool.redis.aclose()


def _scaled_object(tmp_path: Path, **pool: Any) -> Doc:
    docs = render_yaml({"workers": {"pools": [{"name": "gpu", **pool}]}}, tmp_path)
    return one(docs, "ScaledObject", pool_name("gpu"))


async def _submit(broker: Broker, queue: str, n: int, priority: Priority = Priority.NORMAL) -> None:
    producer = Producer(broker)
    for _ in range(n):
        await producer.submit(JobRequest(task="echo", input={}, queue=queue, priority=priority))


async def _claim(consumer: Consumer, queue: str, n: int) -> list[ClaimedJob]:
    return list((await consumer.claim(queue, n)).jobs)


async def test_the_triggers_read_what_the_queue_core_writes(broker: Broker, make_pool: PoolFactory) -> None:
    pool = make_pool(queues=["gpu-large", "embed"])
    await _submit(broker, "gpu-large", 1, Priority.HIGH)
    await _submit(broker, "gpu-large", 2, Priority.NORMAL)
    await _submit(broker, "gpu-large", 3, Priority.LOW)
    await _submit(broker, "embed", 4)
    await _submit(broker, "other", 50)  # another pool's queue
    assert await pool.metric() == 10
    consumer = Consumer(broker, worker_id="w1")
    claimed = await _claim(consumer, "gpu-large", 4)
    assert claimed[0].envelope.priority is Priority.HIGH
    assert await pool.metric() == 10  # claimed jobs moved to the in-flight list, still counted
    for job in claimed:
        await consumer.ack(job, {"ok": True})
    assert await pool.metric() == 6


async def test_zero_for_an_empty_queue_max_on_a_backlog_never_below_in_flight(
    broker: Broker, make_pool: PoolFactory
) -> None:
    pool = make_pool(queues=["gpu-large"], keda={"maxReplicaCount": 5})
    assert pool.spec["minReplicaCount"] == 0 and pool.spec["advanced"]["scalingModifiers"]["target"] == "1"
    assert await pool.scale() == 0

    await _submit(broker, "gpu-large", 3)
    assert await pool.scale() == 3
    await _submit(broker, "gpu-large", 40)
    assert await pool.scale() == 5  # maxReplicaCount caps a big backlog

    # Five busy workers drain the backlog one job each; the count never drops below the jobs in flight.
    consumers = [Consumer(broker, worker_id=f"w{i}") for i in range(5)]
    while True:
        running: list[tuple[Consumer, ClaimedJob]] = []
        for consumer in consumers[: pool.replicas]:
            running += [(consumer, job) for job in await _claim(consumer, "gpu-large", 1)]
        if not running:
            break
        assert await pool.scale() >= len(running)
        for consumer, job in running:
            await consumer.ack(job, None)
    assert await pool.scale() == 0

    # The last long job: the queue is empty, one job runs, and its pod stays.
    await _submit(broker, "gpu-large", 1)
    (job,) = await _claim(consumers[0], "gpu-large", 1)
    assert await pool.redis.llen(pool.lists["gpu_large_waiting_normal"]) == 0
    assert await pool.scale() == 1
    await consumers[0].ack(job, None)
    assert await pool.scale() == 0


async def test_the_target_is_jobs_per_replica_and_activation_holds_off_a_trickle(
    broker: Broker, make_pool: PoolFactory
) -> None:
    pool = make_pool(queues=["embed"], concurrency=4, keda={"activationTarget": 2, "maxReplicaCount": 3})
    assert pool.spec["advanced"]["scalingModifiers"]["target"] == "4"  # the pool's concurrency
    await _submit(broker, "embed", 2)
    assert await pool.scale() == 0  # at the activation threshold: still asleep
    await _submit(broker, "embed", 1)
    assert await pool.scale() == 1
    await _submit(broker, "embed", 6)
    assert await pool.scale() == 3  # ceil(9 / 4)


async def test_a_pool_with_a_floor_keeps_it_when_idle(broker: Broker, make_pool: PoolFactory) -> None:
    assert await make_pool(keda={"minReplicaCount": 2}).scale() == 2


def test_the_evaluator_refuses_formulas_outside_the_charts_grammar() -> None:
    assert evaluate("a + b_2", {"a": 1, "b_2": 2}) == 3
    for formula in ("a * 2", "max(a, b)", "a +b", "a - b"):
        with pytest.raises(ValueError, match="not a sum"):
            evaluate(formula, {"a": 1, "b": 2})


def test_the_rendered_formula_is_in_the_grammar(tmp_path: Path) -> None:
    so = _scaled_object(tmp_path, queues=["9lives", "a-b", "c_d"])
    lengths: dict[str, float] = dict.fromkeys((str(t["name"]) for t in so["spec"]["triggers"]), 1)
    assert evaluate(so["spec"]["advanced"]["scalingModifiers"]["formula"], lengths) == 12
    assert all(not n[0].isdigit() for n in lengths)  # expr identifiers
