"""Small helpers for the queue suite: submit and claim in one line, read a queue's raw structures."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio.cluster import RedisCluster

from stoker_queue import Broker, ClaimedJob, Consumer, JobRequest, Producer, Reader
from stoker_queue.keys import QueueKeys
from stoker_queue.status import PRIORITIES


@dataclass
class Kit:
    broker: Broker
    producer: Producer
    consumer: Consumer
    reader: Reader

    async def submit(self, task: str = "echo", queue: str = "q", **kw: object) -> str:
        return (await self.producer.submit(JobRequest(task=task, queue=queue, **kw))).id  # type: ignore[arg-type]

    async def claim_one(self, queue: str = "q", consumer: Consumer | None = None) -> ClaimedJob:
        batch = await (consumer or self.consumer).claim(queue, 1)
        assert len(batch.jobs) == 1, batch
        return batch.jobs[0]


def make_kit(broker: Broker, worker_id: str = "w1", lease_s: float = 30.0) -> Kit:
    return Kit(
        broker=broker,
        producer=Producer(broker),
        consumer=Consumer(broker, worker_id=worker_id, lease_s=lease_s),
        reader=Reader(broker),
    )


async def structures(broker: Broker, queue: str = "q") -> dict[str, list[str]]:
    """Where each id sits, structure by structure, straight from Redis."""
    q, r = QueueKeys(queue), broker.redis
    out = {f"waiting:{p.value}": await r.lrange(q.waiting(p), 0, -1) for p in PRIORITIES}
    out["running"] = await r.lrange(q.running, 0, -1)
    out["leases"] = await r.zrange(q.leases, 0, -1)
    out["scheduled"] = await r.zrange(q.scheduled, 0, -1)
    out["dead"] = await r.lrange(q.dead, 0, -1)
    out["finished"] = await r.zrange(q.finished, 0, -1)
    return out


async def command_calls(broker: Broker, command: str) -> int:
    """How many times Redis ran ``command`` (lower case), over every master of a cluster."""
    redis = broker.redis
    if isinstance(redis, RedisCluster):
        per_node = await redis.info("commandstats", target_nodes=RedisCluster.PRIMARIES)
        return sum(int(stats.get(f"cmdstat_{command}", {}).get("calls", 0)) for stats in per_node.values())
    stats = await redis.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))
