"""Holding requests until a job ends, and streaming its events, with no polling of Redis."""

from __future__ import annotations

import asyncio
import json
import socket
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


class _Monitor:
    """Redis' MONITOR feed on a socket of its own: every command any client sends, as Redis saw it."""

    def __init__(self, redis_url: str) -> None:
        address = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs
        self._sock = socket.create_connection((address["host"], address["port"]), timeout=5)
        self._sock.sendall(b"MONITOR\r\n")
        self._buffer = b""
        while b"+OK\r\n" not in self._buffer:
            self._buffer += self._sock.recv(4096)
        self._buffer = self._buffer.split(b"+OK\r\n", 1)[1]
        self._sock.settimeout(0.2)
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self._buffer += self._sock.recv(65536)
            except TimeoutError:
                continue
            *done, self._buffer = self._buffer.split(b"\r\n")
            self.lines += [line.decode(errors="replace") for line in done]

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join()
        self._sock.close()
        return self.lines


def test_a_held_request_does_not_poll_redis(client: TestClient, redis_url: str) -> None:
    job_id = client.post("/v1/jobs", json={"task": "echo"}).json()["id"]
    client.get(f"/v1/jobs/{job_id}", params={"wait": 0.1})  # the event subscription is up from here on
    monitor = _Monitor(redis_url)
    r = client.get(f"/v1/jobs/{job_id}", params={"wait": 1.5})
    lines = monitor.stop()
    assert r.status_code == 200 and r.json()["status"] == "queued"
    # Commands naming the job, from clients (scripts' own calls show as "lua"): two reads of it (its
    # state and its record each), one to check it and one once subscribed to its channel; then
    # silence, however often the API's background passes (upkeep, scheduler) run meanwhile.
    named = [line for line in lines if job_id in line and " lua]" not in line]
    channel = [line.split('"')[1] for line in named if '"SUBSCRIBE"' in line or '"UNSUBSCRIBE"' in line]
    assert channel == ["SUBSCRIBE", "UNSUBSCRIBE"], named  # the job's own channel, while it is waited for
    reads = [line for line in named if '"SUBSCRIBE"' not in line and '"UNSUBSCRIBE"' not in line]
    assert 1 <= len(reads) <= 4, reads


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
