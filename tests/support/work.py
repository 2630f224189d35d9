"""Acting as a worker from a test: claim and settle jobs with the queue core directly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import JsonValue

from stoker_queue import Broker, ClaimedJob, Consumer, Job, JobRequest, Producer, Reader, RedisSettings


async def _claim(consumer: Consumer, queue: str) -> ClaimedJob:
    (job,) = (await consumer.claim(queue, 1, block_s=5)).jobs
    return job


def _as_worker(
    redis_url: str, queue: str, settle: Callable[[Consumer, ClaimedJob], Awaitable[object]], lease_s: float = 30.0
) -> str:
    """Claim one job of ``queue`` with a ``lease_s`` lease, hand it to ``settle``; returns its id."""

    async def run() -> str:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        try:
            consumer = Consumer(broker, worker_id="test-worker", lease_s=lease_s)
            job = await _claim(consumer, queue)
            await settle(consumer, job)
            return job.id
        finally:
            await broker.close()

    return asyncio.run(run())


def work_one(redis_url: str, output: JsonValue, queue: str = "default") -> str:
    """Claim one job of ``queue`` and ack it with ``output``."""
    return _as_worker(redis_url, queue, lambda c, job: c.ack(job, output))


def fail_one(redis_url: str, queue: str = "default") -> str:
    """Claim one job of ``queue`` and fail it for good."""
    return _as_worker(redis_url, queue, lambda c, job: c.fail(job, code="boom", message="it broke", retry=False))


def claim_one(redis_url: str, queue: str = "default", lease_s: float = 30.0) -> str:
    """Claim one job and leave it running, as a worker that dies does: its lease runs out in ``lease_s``."""
    return _as_worker(redis_url, queue, lambda c, job: asyncio.sleep(0), lease_s)


def submit(redis_url: str, task: str, payload: JsonValue, **options: Any) -> str:
    """Submit one job as a client would; returns its id."""

    async def run() -> str:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        try:
            return (await Producer(broker).submit(JobRequest(task=task, input=payload, **options))).id
        finally:
            await broker.close()

    return asyncio.run(run())


def read_job(redis_url: str, job_id: str) -> Job:
    async def run() -> Job:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        try:
            return await Reader(broker).get_job(job_id)
        finally:
            await broker.close()

    return asyncio.run(run())
