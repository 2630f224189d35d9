"""A Redis outage costs nothing: a job that finished while Redis was away is settled when it returns
(no re-run, no crash charged), and liveness stays green meanwhile (readiness does not)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from stoker_queue import Attempts, Broker, JobRequest, JobStatus, Producer, Reader, RedisSettings
from stoker_worker import WorkerSettings, load_tasks
from stoker_worker.factory import build_worker
from stoker_worker.runtime import Worker
from tests.support.redis_server import RedisProcess, find_binaries
from tests.worker.conftest import TASKS, wait_done


@pytest.fixture
def durable_redis() -> AsyncIterator[RedisProcess]:
    binaries = find_binaries()
    if not binaries:
        pytest.skip("no redis-server on this machine")
    server = RedisProcess(binaries[max(binaries)], appendonly=True)
    server.start()
    yield server
    server.close()


async def _health(worker: Worker, path: str) -> int:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{worker.health.port}{path}", timeout=2)).status_code


async def test_a_job_finished_during_an_outage_is_settled_when_redis_returns(durable_redis: RedisProcess) -> None:
    fast = RedisSettings(redis_url=durable_redis.url, redis_socket_timeout_s=0.5, redis_connect_timeout_s=0.2)
    broker = Broker.from_settings(fast)
    settings = WorkerSettings(
        worker_id="w-outage",
        tasks=TASKS,
        queues=["default"],
        health_port=0,
        heartbeat_s=0.3,
        claim_block_s=0.1,
        redis=fast,
    )
    worker = build_worker(broker, settings, load_tasks(settings.tasks))
    run = asyncio.create_task(worker.run())
    try:
        producer, reader = Producer(broker), Reader(broker)
        job_id = (await producer.submit(JobRequest(task="sleep", input=0.8))).id
        async with asyncio.timeout(10):
            while (await reader.get_job(job_id)).status is not JobStatus.RUNNING:
                await asyncio.sleep(0.02)
        durable_redis.stop()  # the handler finishes while Redis is away
        await asyncio.sleep(2.5)  # over three heartbeats: liveness would have gone stale
        assert await _health(worker, "/healthz") == 200
        assert await _health(worker, "/readyz") == 503
        durable_redis.start()
        job = await wait_done(reader, job_id, timeout=10)  # well inside the 30 s lease
        assert job.status is JobStatus.SUCCEEDED and job.attempts == Attempts(), job
        assert await reader.get_result(job_id) == 0.8
        assert not run.done()
    finally:
        worker.stop()
        await asyncio.wait_for(run, 30)
        await broker.close()
