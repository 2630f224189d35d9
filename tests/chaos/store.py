"""What the queue holds, read through the queue core's ``Reader``: final records, holdings, idleness."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import JsonValue

from stoker_queue import Broker, Job, JobNotFound, JobStatus, QueueError, Reader, RedisSettings

T = TypeVar("T")
CHUNK = 200


def _with_reader(redis_url: str, fn: Callable[[Reader], Awaitable[T]]) -> T:
    async def run() -> T:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        try:
            return await fn(Reader(broker))
        finally:
            await broker.close()

    return asyncio.run(run())


def final_records(redis_url: str, ids: list[str]) -> dict[str, Job | None]:
    """Each job's record (None: unknown to the queue, or unreadable), read in concurrent chunks."""

    async def one(reader: Reader, job_id: str) -> Job | None:
        try:
            return await reader.get_job(job_id)
        except (JobNotFound, QueueError, ValueError):
            return None

    async def read(reader: Reader) -> dict[str, Job | None]:
        found: dict[str, Job | None] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            found.update(zip(chunk, await asyncio.gather(*(one(reader, i) for i in chunk)), strict=True))
        return found

    return _with_reader(redis_url, read)


def results(redis_url: str, ids: list[str]) -> dict[str, JsonValue]:
    """The stored output of each succeeded job among ``ids``."""

    async def one(reader: Reader, job_id: str) -> tuple[str, JsonValue] | None:
        try:
            return job_id, await reader.get_result(job_id)
        except (QueueError, ValueError):
            return None

    async def read(reader: Reader) -> dict[str, JsonValue]:
        found: dict[str, JsonValue] = {}
        for start in range(0, len(ids), CHUNK):
            pairs = await asyncio.gather(*(one(reader, i) for i in ids[start : start + CHUNK]))
            found.update(p for p in pairs if p is not None)
        return found

    return _with_reader(redis_url, read)


def held_by(redis_url: str, queue: str, worker_id: str) -> set[str]:
    """The jobs ``worker_id`` holds now (running, claimed by it)."""

    async def read(reader: Reader) -> set[str]:
        held: set[str] = set()
        cursor = None
        while True:
            jobs, cursor = await reader.list_jobs(queue=queue, status=JobStatus.RUNNING, cursor=cursor, limit=500)
            held |= {j.id for j in jobs if j.worker == worker_id}
            if cursor is None:
                return held

    return _with_reader(redis_url, read)


def active(redis_url: str, queue: str) -> int:
    """Jobs of ``queue`` not yet settled: waiting, scheduled or running; -1 while Redis does not answer."""

    async def read(reader: Reader) -> int:
        stats = await reader.queue_stats(queue)
        return stats.waiting_total + stats.scheduled + stats.running

    try:
        return _with_reader(redis_url, read)
    except QueueError:
        return -1
