"""On a Redis Cluster each queue lives in one slot, its hash tag's, and queues spread over the nodes."""

from __future__ import annotations

from collections import defaultdict

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from stoker_queue import Broker, JobRequest, JobStatus
from stoker_queue.keys import QueueKeys, core_keys
from tests.queue.helpers import make_kit

pytestmark = pytest.mark.every_redis("cluster")

QUEUES = [f"queue-{n}" for n in range(12)]


def _cluster(broker: Broker) -> RedisCluster:
    assert isinstance(broker.redis, RedisCluster)
    return broker.redis


def _every_key(q: QueueKeys) -> list[str]:
    return [*core_keys(q), q.schedules, q.reaper_lock, q.cancels, q.result("j"), q.idempotency("k")]


async def test_each_queue_keeps_every_key_in_one_slot(broker: Broker) -> None:
    redis = _cluster(broker)
    for name in QUEUES:
        slots = {await redis.cluster_keyslot(key) for key in _every_key(QueueKeys(name))}
        assert slots == {await redis.cluster_keyslot(name)}  # the slot of the hash tag alone


async def test_queues_spread_over_the_nodes_and_each_runs_on_its_own(broker: Broker) -> None:
    redis, kit = _cluster(broker), make_kit(broker)
    submitted = await kit.producer.submit_many([JobRequest(task="echo", queue=q, input=q) for q in QUEUES])
    by_node: dict[str, set[str]] = defaultdict(set)
    for name in QUEUES:
        node = redis.get_node_from_key(QueueKeys(name).jobs)
        assert node is not None
        by_node[node.name].add(name)
        # Asked directly, the node that owns the slot holds the queue's data.
        async with Redis(host=node.host, port=node.port) as owner:
            assert await owner.hlen(QueueKeys(name).jobs) == 1
    assert len(by_node) == len(redis.get_primaries())
    for name, sub in zip(QUEUES, submitted, strict=True):
        job = await kit.claim_one(name)
        assert (job.id, job.envelope.input) == (sub.id, name)
        await kit.consumer.ack(job, {"echo": name})
        assert (await kit.reader.get_job(job.id)).status is JobStatus.SUCCEEDED
    assert set(await kit.reader.list_queues()) == set(QUEUES)
