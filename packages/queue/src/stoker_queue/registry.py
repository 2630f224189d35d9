"""Who is working and what they can run: the worker registry and the task catalog.

Workers write both; the API reads them. A worker's record expires unless its heartbeat renews it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio.cluster import RedisCluster

from stoker_queue.broker import Broker, translate_errors
from stoker_queue.keys import SCHEDULES_KEY, TASKS_KEY, WORKERS_KEY, QueueKeys, task_queues_key, worker_key
from stoker_queue.schedules import Schedule, ScheduledTask


class WorkerInfo(BaseModel):
    """What a worker says about itself in each heartbeat."""

    model_config = ConfigDict(frozen=True)

    id: str
    queues: list[str]
    pod: str | None = None
    node: str | None = None
    device: str = "cpu"
    gpu_name: str | None = None
    gpu_memory_total_bytes: int | None = None
    gpu_memory_used_bytes: int | None = None
    slots: int = 1
    busy: int = 0
    processed: int = 0
    started_at: datetime
    last_heartbeat: datetime | None = None


class TaskInfo(BaseModel):
    """One task in the catalog, with the JSON Schemas the API validates submissions against.

    ``queue`` is where its jobs wait unless a client names another; ``queues`` are the queues whose
    workers serve it (from every worker and catalog job that published it), and ``served_at`` when one
    last did. Both are filled when the catalog is read. ``schedule``, if set, enqueues its jobs by itself.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    queue: str
    queues: list[str] = Field(default_factory=list)
    served_at: datetime | None = None
    input_schema: dict[str, Any] = Field(default_factory=dict)
    output_schema: dict[str, Any] = Field(default_factory=dict)
    batch_size: int = 1
    timeout_s: float | None = None
    max_attempts: int = 3
    schedule: Schedule | None = None

    def scheduled(self) -> ScheduledTask | None:
        """What the schedulers read: the schedule, with the queue and defaults of the jobs it enqueues."""
        if self.schedule is None:
            return None
        return ScheduledTask(
            task=self.name,
            queue=self.schedule.queue or self.queue,
            schedule=self.schedule,
            max_attempts=self.max_attempts,
            timeout_s=self.timeout_s,
        )


class Registry:
    """Reads and writes the worker registry and the task catalog.

    Args:
        broker: the shared connection.
    """

    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    @translate_errors
    async def heartbeat(self, info: WorkerInfo, *, ttl_s: float) -> None:
        """Record ``info`` as alive for ``ttl_s``."""
        now = self._broker.wall_ms()
        stamped = info.model_copy(update={"last_heartbeat": datetime.fromtimestamp(now / 1000, tz=UTC)})
        async with self._broker.redis.pipeline(transaction=False) as pipe:
            pipe.set(worker_key(info.id), stamped.model_dump_json(), px=round(ttl_s * 1000))
            pipe.zadd(WORKERS_KEY, {info.id: now})
            await pipe.execute()

    @translate_errors
    async def remove_worker(self, worker_id: str) -> None:
        async with self._broker.redis.pipeline(transaction=False) as pipe:
            pipe.delete(worker_key(worker_id))
            pipe.zrem(WORKERS_KEY, worker_id)
            await pipe.execute()

    @translate_errors
    async def list_workers(self) -> list[WorkerInfo]:
        """Live workers, most recently seen first. Records that expired are pruned from the set."""
        ids = [str(i) for i in await self._broker.redis.zrevrange(WORKERS_KEY, 0, -1)]
        if not ids:
            return []
        keys = [worker_key(i) for i in ids]
        # A cluster spreads worker records over slots, where one MGET cannot read them.
        redis = self._broker.redis
        raw = await (redis.mget_nonatomic(keys) if isinstance(redis, RedisCluster) else redis.mget(keys))
        gone = [i for i, r in zip(ids, raw, strict=True) if r is None]
        if gone:
            await self._broker.redis.zrem(WORKERS_KEY, *gone)
        return [WorkerInfo.model_validate_json(r) for r in raw if r is not None]

    @translate_errors
    async def publish_tasks(self, tasks: list[TaskInfo], *, queues: Sequence[str] = ()) -> None:
        """Add or replace these tasks in the catalog, served (as of now) on ``queues``."""
        if not tasks:
            return
        now = self._broker.wall_ms()
        async with self._broker.redis.pipeline(transaction=False) as pipe:
            pipe.hset(TASKS_KEY, mapping={t.name: t.model_dump_json(exclude={"queues", "served_at"}) for t in tasks})
            for t in tasks:
                if queues:
                    pipe.zadd(task_queues_key(t.name), dict.fromkeys(queues, now))
                # The schedules go with the catalog, so they fire while the task's pool is scaled to zero.
                if (scheduled := t.scheduled()) is not None:
                    pipe.hset(SCHEDULES_KEY, t.name, scheduled.model_dump_json())
                else:
                    pipe.hdel(SCHEDULES_KEY, t.name)
            await pipe.execute()

    @translate_errors
    async def list_tasks(self) -> list[TaskInfo]:
        raw = {str(k): str(v) for k, v in (await self._broker.redis.hgetall(TASKS_KEY)).items()}
        names = sorted(raw)
        async with self._broker.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.zrange(task_queues_key(name), 0, -1, withscores=True)
            served = await pipe.execute()
        return [_with_queues(raw[name], queues) for name, queues in zip(names, served, strict=True)]

    @translate_errors
    async def remove_task(self, name: str) -> bool:
        """Take ``name`` out of the catalog (with the queues recorded for it, and its schedule, which stops
        firing); False if it was not there."""
        redis = self._broker.redis
        scheduled = await redis.hget(SCHEDULES_KEY, name)
        # The three keys hash to different slots of a cluster, where they cannot share a transaction.
        async with redis.pipeline(transaction=not self._broker.cluster) as pipe:
            pipe.hdel(TASKS_KEY, name)
            pipe.delete(task_queues_key(name))
            pipe.hdel(SCHEDULES_KEY, name)
            removed, _, _ = await pipe.execute()
        if scheduled is not None:  # its tick state lives in its queue's slot: a task added again starts afresh
            with contextlib.suppress(ValueError):  # a corrupt entry names no queue; it is gone all the same
                await redis.hdel(QueueKeys(ScheduledTask.model_validate_json(scheduled).queue).schedules, name)
        return bool(removed)

    @translate_errors
    async def get_task(self, name: str) -> TaskInfo | None:
        async with self._broker.redis.pipeline(transaction=False) as pipe:
            pipe.hget(TASKS_KEY, name)
            pipe.zrange(task_queues_key(name), 0, -1, withscores=True)
            raw, queues = await pipe.execute()
        return None if raw is None else _with_queues(raw, queues)


def _with_queues(raw: str, served: list[tuple[str, float]]) -> TaskInfo:
    info = TaskInfo.model_validate_json(raw)
    if not served:
        return info
    last = datetime.fromtimestamp(max(ms for _, ms in served) / 1000, tz=UTC)
    return info.model_copy(update={"queues": sorted(q for q, _ in served), "served_at": last})
