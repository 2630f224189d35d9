"""Holding requests until a job ends, and streaming its events, with no polling of Redis."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import redis
from fastapi.testclient import TestClient

from stoker_queue import Broker, Consumer, RedisSettings
from tests.support.work import work_one


def _later(seconds: float, fn: object, *args: object) -> threading.Timer:
    timer = threading.Timer(seconds, fn, args)  # type: ignore[arg-type]
    timer.start()
    return timer


def test_submit_with_wait_answers_200_with_the_finished_job(client: TestClient, redis_url: str) -> None:
    timer = _later(0.3, work_one, redis_url, {"ok": True})
    started = time.monotonic()
    r = client.post("/v1/jobs?wait=10", json={"task": "echo"})
    timer.join()
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "succeeded" and time.monotonic() - started < 5
    assert client.get(r.json()["links"]["result"]).json()["output"] == {"ok": True}


def test_submit_with_wait_answers_202_when_time_runs_out(client: TestClient) -> None:
    started = time.monotonic()
    r = client.post("/v1/jobs?wait=0.5", json={"task": "echo"})
    assert r.status_code == 202 and r.json()["status"] == "queued"
    assert 0.5 <= time.monotonic() - started < 3


def test_get_with_wait_returns_when_the_job_ends(client: TestClient, redis_url: str) -> None:
    job_id = client.post("/v1/jobs", json={"task": "echo"}).json()["id"]
    timer = _later(0.3, work_one, redis_url, "done")
    r = client.get(f"/v1/jobs/{job_id}", params={"wait": 10})
    timer.join()
    assert r.status_code == 200 and r.json()["status"] == "succeeded"


def test_a_held_request_does_not_poll_redis(client: TestClient, redis_url: str) -> None:
    job_id = client.post("/v1/jobs", json={"task": "echo"}).json()["id"]
    client.get(f"/v1/jobs/{job_id}", params={"wait": 0.1})  # the event subscription is up from here on
    server = redis.Redis.from_url(redis_url)
    before = server.info("commandstats")
    r = client.get(f"/v1/jobs/{job_id}", params={"wait": 1.5})
    after = server.info("commandstats")
    assert r.status_code == 200 and r.json()["status"] == "queued"
    calls = sum(v["calls"] for k, v in after.items() if k != "cmdstat_info") - sum(
        v["calls"] for k, v in before.items() if k != "cmdstat_info"
    )
    # Two reads of the job (MULTI, 2 HGET, EXEC): one to check it, one once subscribed; then silence.
    assert calls <= 8, (before, after)


def _progress_then_ack(redis_url: str) -> None:
    async def run() -> None:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        consumer = Consumer(broker, worker_id="w")
        (job,) = (await consumer.claim("default", 1, block_s=5)).jobs
        await asyncio.sleep(0.1)
        await consumer.progress(job, 0.5, "half way")
        await asyncio.sleep(0.1)
        await consumer.ack(job, {"answer": 42})
        await broker.close()

    asyncio.run(run())


def test_events_stream_status_progress_and_end(client: TestClient, redis_url: str) -> None:
    job_id = client.post("/v1/jobs", json={"task": "echo"}).json()["id"]
    timer = _later(0.3, _progress_then_ack, redis_url)
    events: list[tuple[str, dict[str, object]]] = []
    with client.stream("GET", f"/v1/jobs/{job_id}/events") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
    timer.join()
    assert [n for n, _ in events] == ["status", "status", "progress", "status", "end"]
    assert [e["status"] for n, e in events if n == "status"] == ["queued", "running", "succeeded"]
    assert events[2][1] == {"id": job_id, "fraction": 0.5, "message": "half way"}
    assert events[-1][1] == {"id": job_id, "status": "succeeded", "result": f"/v1/jobs/{job_id}/result"}


def test_events_of_a_finished_job_end_at_once(client: TestClient, redis_url: str) -> None:
    job_id = client.post("/v1/jobs", json={"task": "echo"}).json()["id"]
    work_one(redis_url, 1)
    r = client.get(f"/v1/jobs/{job_id}/events")
    assert r.text.count("event: ") == 2 and "event: end" in r.text


def test_an_event_stream_closes_after_its_time_limit(redis_url: str) -> None:
    from tests.api.conftest import make_client

    with make_client(redis_url, stream_max_s=0.3) as client:
        job_id = client.post("/v1/jobs", json={"task": "echo"}).json()["id"]
        r = client.get(f"/v1/jobs/{job_id}/events")
        assert r.text.splitlines()[0] == "event: status" and "event: timeout" in r.text
