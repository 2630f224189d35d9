"""Queue gauges on /metrics: exact values read from Redis at scrape time, one round trip in the steady state,
and ``stoker_redis_up 0`` (still a 200) when Redis is away or too slow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio.connection import AbstractConnection

from stoker_queue import Broker, RedisSettings, Registry, WorkerInfo
from tests.api.conftest import ADMIN_KEY, make_client, publish_catalog
from tests.support.redis_server import RedisProcess
from tests.support.work import claim_one, fail_one

Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]
QUEUE_METRICS = ("stoker_queue_jobs", "stoker_queue_waiting_jobs", "stoker_queue_oldest_waiting_seconds")


def scrape(client: TestClient) -> Samples:
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    out: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def by_label(samples: Samples, name: str, *labels: str) -> dict[tuple[str, ...], float]:
    """One metric's samples keyed by the values of ``labels``, in that order."""
    return {tuple(dict(k)[label] for label in labels): v for k, v in samples.get(name, {}).items()}


@contextmanager
def round_trips() -> Iterator[list[bytes]]:
    """Every write of commands to any Redis connection in this process: one per round trip."""
    sent: list[bytes] = []
    original = AbstractConnection.send_packed_command

    async def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        sent.append((command if isinstance(command, bytes) else b"".join(command))[:120])
        await original(self, command, check_health)

    AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]


def heartbeat(redis_url: str, worker_id: str, queues: list[str], ttl_s: float) -> None:
    async def run() -> None:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        info = WorkerInfo(id=worker_id, queues=queues, started_at=datetime.now(UTC))
        await Registry(broker).heartbeat(info, ttl_s=ttl_s)
        await broker.close()

    asyncio.run(run())


def submit(client: TestClient, **body: object) -> str:
    r = client.post("/v1/jobs", json=body)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def test_gauges_show_every_queue_state_exactly(redis_url: str) -> None:
    with make_client(redis_url, key=ADMIN_KEY) as client:
        for priority, n in (("high", 2), ("normal", 3), ("low", 1)):
            for _ in range(n):
                submit(client, task="echo", priority=priority)
        submit(client, task="echo", delay_s=600)
        claim_one(redis_url, "default")  # takes a high one
        submit(client, task="sum", input={"values": [1]})
        submit(client, task="sum", input={"values": [2]}, priority="low")
        fail_one(redis_url, "math")  # the normal one, to the dead-letter list
        assert client.post("/v1/queues/math/pause").status_code == 200
        idle = submit(client, task="echo", queue="idle")
        assert client.post(f"/v1/jobs/{idle}/cancel").status_code == 200
        heartbeat(redis_url, "w1", ["default", "gpu"], ttl_s=30)
        heartbeat(redis_url, "w2", ["default"], ttl_s=0.01)  # expires before the scrape
        time.sleep(0.05)

        samples = scrape(client)

    assert by_label(samples, "stoker_redis_up") == {(): 1.0}
    assert by_label(samples, "stoker_queue_jobs", "queue", "state") == {
        ("default", "waiting"): 5,
        ("default", "scheduled"): 1,
        ("default", "running"): 1,
        ("default", "dead"): 0,
        ("idle", "waiting"): 0,
        ("idle", "scheduled"): 0,
        ("idle", "running"): 0,
        ("idle", "dead"): 0,
        ("math", "waiting"): 1,
        ("math", "scheduled"): 0,
        ("math", "running"): 0,
        ("math", "dead"): 1,
    }
    assert by_label(samples, "stoker_queue_waiting_jobs", "queue", "priority") == {
        ("default", "high"): 1,
        ("default", "normal"): 3,
        ("default", "low"): 1,
        ("idle", "high"): 0,
        ("idle", "normal"): 0,
        ("idle", "low"): 0,
        ("math", "high"): 0,
        ("math", "normal"): 0,
        ("math", "low"): 1,
    }
    assert by_label(samples, "stoker_queue_paused", "queue") == {("default",): 0, ("idle",): 0, ("math",): 1}
    # w2's record expired; w1 also serves a queue that has never had a job.
    assert by_label(samples, "stoker_queue_workers", "queue") == {
        ("default",): 1,
        ("gpu",): 1,
        ("idle",): 0,
        ("math",): 0,
    }
    oldest = by_label(samples, "stoker_queue_oldest_waiting_seconds", "queue")
    assert oldest[("idle",)] == 0
    assert 0 < oldest[("math",)] <= oldest[("default",)] < 30, oldest
    # The request metrics are still there, with the route template as label.
    routes = by_label(samples, "stoker_http_request_duration_seconds_count", "method", "route", "status")
    assert routes[("POST", "/v1/jobs/{job_id}/cancel", "200")] == 1


def test_a_scrape_is_one_round_trip_in_the_steady_state(redis_url: str) -> None:
    with make_client(redis_url, key=ADMIN_KEY) as client:
        submit(client, task="echo")
        heartbeat(redis_url, "w1", ["default"], ttl_s=30)
        scrape(client)  # learns the queue and the worker; loads the script
        with round_trips() as sent:
            samples = scrape(client)
        assert len(sent) == 1, sent
        assert by_label(samples, "stoker_queue_workers", "queue") == {("default",): 1}

        submit(client, task="sum", input={"values": [1]})  # a new queue: one more round trip, once
        heartbeat(redis_url, "w2", ["math"], ttl_s=30)
        with round_trips() as sent:
            samples = scrape(client)
        assert len(sent) == 2, sent
        assert by_label(samples, "stoker_queue_workers", "queue") == {("default",): 1, ("math",): 1}
        with round_trips() as sent:
            scrape(client)
        assert len(sent) == 1, sent

        redis.Redis.from_url(redis_url).script_flush()  # as after a Redis restart
        samples = scrape(client)
        assert by_label(samples, "stoker_queue_jobs", "queue", "state")[("math", "waiting")] == 1
        with round_trips() as sent:
            scrape(client)
        assert len(sent) == 1, sent


def _queue_samples(samples: Samples) -> list[str]:
    return [name for name in samples if name.startswith("stoker_queue_")]


def test_redis_down_or_slow_is_redis_up_0_and_no_queue_gauges(own_redis: RedisProcess) -> None:
    publish_catalog(own_redis.url)
    with make_client(own_redis.url, redis_timeout_s=0.3) as client:
        submit(client, task="echo")
        assert by_label(scrape(client), "stoker_queue_jobs", "queue", "state")[("default", "waiting")] == 1

        redis.Redis(port=own_redis.port).execute_command("CLIENT", "PAUSE", 1500, "ALL")
        started = time.monotonic()
        samples = scrape(client)
        assert time.monotonic() - started < 1.2, "a slow Redis must not hold the scrape"
        assert by_label(samples, "stoker_redis_up") == {(): 0.0}
        assert _queue_samples(samples) == []
        assert "stoker_http_request_duration_seconds_count" in samples
        time.sleep(1.5)
        assert by_label(scrape(client), "stoker_redis_up") == {(): 1.0}

        own_redis.stop()
        started = time.monotonic()
        samples = scrape(client)
        assert time.monotonic() - started < 1.2
        assert by_label(samples, "stoker_redis_up") == {(): 0.0}
        assert _queue_samples(samples) == []

        own_redis.start()  # an empty server on the same port
        deadline = time.monotonic() + 10
        while by_label(samples := scrape(client), "stoker_redis_up") != {(): 1.0}:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert _queue_samples(samples) == []  # no queue is left to report
