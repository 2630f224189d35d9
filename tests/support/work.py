"""Acting as a worker from a test: claim and settle jobs with the queue core directly."""

from __future__ import annotations

import asyncio

from pydantic import JsonValue

from stoker_queue import Broker, ClaimedJob, Consumer, RedisSettings


async def _claim(consumer: Consumer, queue: str) -> ClaimedJob:
    (job,) = (await consumer.claim(queue, 1, block_s=5)).jobs
    return job


def work_one(redis_url: str, output: JsonValue, queue: str = "default") -> str:
    """Claim one job of ``queue`` and ack it with ``output``; returns its id."""

    async def run() -> str:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        try:
            consumer = Consumer(broker, worker_id="test-worker")
            job = await _claim(consumer, queue)
            await consumer.ack(job, output)
            return job.id
        finally:
            await broker.close()

    return asyncio.run(run())


def fail_one(redis_url: str, queue: str = "default") -> str:
    """Claim one job of ``queue`` and fail it for good."""

    async def run() -> str:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        try:
            consumer = Consumer(broker, worker_id="test-worker")
            job = await _claim(consumer, queue)
            await consumer.fail(job, code="boom", message="it broke", retry=False)
            return job.id
        finally:
            await broker.close()

    return asyncio.run(run())


def claim_one(redis_url: str, queue: str = "default") -> str:
    """Claim one job and leave it running."""

    async def run() -> str:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        try:
            return (await _claim(Consumer(broker, worker_id="test-worker"), queue)).id
        finally:
            await broker.close()

    return asyncio.run(run())
