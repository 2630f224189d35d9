"""Worker fixtures: real workers in-process on a real Redis, stopped (and drained) after each test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from stoker_queue import Broker, Job, JobStatus, Reader, RedisSettings
from stoker_worker import WorkerSettings, load_tasks
from stoker_worker.factory import build_worker
from stoker_worker.runtime import Worker

TASKS = ["tests.worker.sample_tasks", "stoker_worker.tasks.echo"]

StartWorker = Callable[..., Coroutine[Any, Any, tuple[Worker, "asyncio.Task[int]"]]]


@pytest.fixture
async def broker(newest_redis_url: str) -> AsyncIterator[Broker]:
    b = Broker.from_settings(RedisSettings(redis_url=newest_redis_url))
    await b.redis.flushdb()
    yield b
    await b.close()


@pytest.fixture
async def start_worker(broker: Broker, newest_redis_url: str) -> AsyncIterator[StartWorker]:
    running: list[tuple[Worker, asyncio.Task[int]]] = []

    async def start(**overrides: Any) -> tuple[Worker, asyncio.Task[int]]:
        values: dict[str, Any] = {
            "worker_id": f"w{len(running)}",
            "tasks": TASKS,
            "health_port": 0,
            "redis": RedisSettings(redis_url=newest_redis_url),
        }
        observers = overrides.pop("observers", ())
        settings = WorkerSettings(**(values | overrides))
        worker = build_worker(broker, settings, load_tasks(settings.tasks), observers=observers)
        run = asyncio.create_task(worker.run())
        running.append((worker, run))
        return worker, run

    yield start
    for worker, run in running:
        worker.stop()
        await asyncio.wait_for(run, 30)


async def wait_done(reader: Reader, job_id: str, timeout: float = 15) -> Job:
    async with asyncio.timeout(timeout):
        while True:
            job = await reader.get_job(job_id)
            if job.status not in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.RUNNING):
                return job
            await asyncio.sleep(0.02)
