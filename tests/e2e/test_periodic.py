"""Periodic tasks across real processes: two workers and an API, each running a scheduler, enqueue one job
per tick between them; with the pool at zero the API alone keeps enqueueing them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from stoker_queue import Broker, Job, JobStatus, Reader, RedisSettings
from stoker_queue.ids import scheduled_job_id
from stoker_queue.keys import QueueKeys
from tests.support.processes import Service, start_api, start_worker
from tests.support.redis_server import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TASKS = "tests.worker.periodic_tasks"  # status-poll: every second, on queue "periodic"
QUEUE, SCHEDULE = "periodic", "status-poll"
ENV = {"PYTHONPATH": str(ROOT)}


def _jobs(redis_url: str) -> list[Job]:
    async def run() -> list[Job]:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        try:
            ids = [str(i) for i in await broker.redis.zrange(QueueKeys(QUEUE).index, 0, -1)]
            reader = Reader(broker)
            return [await reader.get_job(i) for i in ids]
        finally:
            await broker.close()

    return asyncio.run(run())


def _tick_ms(job: Job) -> int:
    return round(datetime.fromisoformat(job.metadata["tick"]).timestamp() * 1000)


def _until(predicate: object, timeout: float, what: str, *services: Service) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n" + "\n".join(s.log() for s in services)
        time.sleep(0.05)


def _fired(metrics_url: str) -> float:
    text = httpx.get(metrics_url, timeout=5).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "stoker_schedule_ticks_total" and s.labels.get("outcome") == "fired"
    )


def test_two_workers_and_an_api_enqueue_exactly_one_job_per_tick(newest_redis_url: str, tmp_path: Path) -> None:
    redis.Redis.from_url(newest_redis_url).flushdb()
    ports = [free_port(), free_port()]
    workers = [
        start_worker(newest_redis_url, tmp_path, f"w{i}", env=ENV, tasks=TASKS, queues=QUEUE, health_port=str(port))
        for i, port in enumerate(ports)
    ]
    api, base = start_api(newest_redis_url, tmp_path, env=ENV)
    services = [api, *workers]
    try:
        _until(lambda: len(_jobs(newest_redis_url)) >= 1, 30, "the first tick", *services)
        first = min(_tick_ms(j) for j in _jobs(newest_redis_url))
        time.sleep(6)
        last = (time.time_ns() // 1_000_000 // 1000 - 1) * 1000  # a tick every process has had time to take
        window = range(first, last + 1, 1000)
        assert len(window) >= 5
        _until(
            lambda: all(j.status is JobStatus.SUCCEEDED for j in _jobs(newest_redis_url) if _tick_ms(j) <= last),
            30,
            "every job of the window to succeed",
            *services,
        )
        jobs = [j for j in _jobs(newest_redis_url) if _tick_ms(j) <= last]
        ticks = [_tick_ms(j) for j in jobs]
        assert sorted(ticks) == list(window)  # one job for every tick, none twice, none missed
        assert {j.id for j in jobs} == {scheduled_job_id(QUEUE, SCHEDULE, t) for t in window}
        assert all(j.envelope.input == {"target": "status"} for j in jobs)
        # The processes' counters add up to the jobs: each was enqueued by exactly one of them.
        urls = [f"{base}/metrics", *(f"http://127.0.0.1:{p}/metrics" for p in ports)]
        counted = sum(_fired(u) for u in urls)
        total = len(_jobs(newest_redis_url))
        assert total - 1 <= counted <= total, (counted, total)
    finally:
        for service in services:
            service.terminate()


def test_with_the_pool_at_zero_the_api_enqueues_the_periodic_jobs(newest_redis_url: str, tmp_path: Path) -> None:
    redis.Redis.from_url(newest_redis_url).flushdb()
    publish = subprocess.run(
        [sys.executable, "-m", "stoker_worker", "--publish-catalog", "--tasks", TASKS, "--queues", QUEUE],
        env={"PATH": "/usr/bin:/bin", "REDIS_URL": newest_redis_url, **ENV},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert publish.returncode == 0, publish.stderr
    api, _ = start_api(newest_redis_url, tmp_path, env=ENV)
    try:
        _until(lambda: len(_jobs(newest_redis_url)) >= 3, 30, "three ticks with no worker", api)
    finally:
        api.terminate()
    jobs = _jobs(newest_redis_url)
    assert all(j.status is JobStatus.QUEUED for j in jobs)  # waiting where KEDA counts them
    ticks = sorted(_tick_ms(j) for j in jobs)
    assert ticks == list(range(ticks[0], ticks[0] + 1000 * len(ticks), 1000))
    # The pool wakes (a burst worker here, as a ScaledJob would run): it runs them and takes no tick itself.
    worker = start_worker(newest_redis_url, tmp_path, env=ENV, tasks=TASKS, queues=QUEUE, burst="true")
    assert worker.wait(timeout=60) == 0, worker.log()
    after = _jobs(newest_redis_url)
    assert len(after) == len(jobs) and all(j.status is JobStatus.SUCCEEDED for j in after)
