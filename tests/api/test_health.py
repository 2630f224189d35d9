"""Liveness, readiness, and what clients see while Redis is away: 503 with Retry-After, then recovery."""

from __future__ import annotations

import time

from tests.api.conftest import make_client, publish_catalog
from tests.support.redis_server import RedisProcess


def test_healthz_and_readyz(redis_url: str) -> None:
    with make_client(redis_url) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}


def test_redis_outage_is_503_with_retry_after_and_the_api_recovers(own_redis: RedisProcess) -> None:
    publish_catalog(own_redis.url)
    with make_client(own_redis.url, retry_after_s=3) as client:
        assert client.post("/v1/jobs", json={"task": "echo"}).status_code == 202
        own_redis.stop()
        for method, path in (("POST", "/v1/jobs"), ("GET", "/v1/jobs/default.01JDX3K0000000000000000000")):
            started = time.monotonic()
            r = client.request(method, path, json={"task": "echo"} if method == "POST" else None)
            assert time.monotonic() - started < 1.5, "an outage must be reported fast"
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "3"
            assert r.json()["error"]["code"] == "queue_unavailable"
        r = client.get("/readyz")
        assert r.status_code == 503 and "Retry-After" in r.headers
        assert client.get("/healthz").status_code == 200
        own_redis.start()
        deadline = time.monotonic() + 10
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        publish_catalog(own_redis.url)  # as the workers' next heartbeat does
        assert client.post("/v1/jobs", json={"task": "echo"}).status_code == 202


def test_a_503_never_names_the_redis_address(own_redis: RedisProcess) -> None:
    with make_client(own_redis.url) as client:
        own_redis.stop()
        for path in ("/readyz", "/v1/jobs/default.01JDX3K0000000000000000000", "/v1/queues"):
            r = client.get(path)
            assert r.status_code == 503, r.text
            assert "127.0.0.1" not in r.text and str(own_redis.port) not in r.text, r.text


def test_a_frozen_redis_is_503_within_a_second(own_redis: RedisProcess) -> None:
    import os
    import signal

    publish_catalog(own_redis.url)
    with make_client(own_redis.url) as client:
        assert client.post("/v1/jobs", json={"task": "echo"}).status_code == 202  # the pool holds a connection
        assert own_redis._proc is not None
        pid = own_redis._proc.pid
        os.kill(pid, signal.SIGSTOP)  # up, accepting connections, answering nothing
        try:
            for method, path in (
                ("GET", "/v1/jobs/default.01JDX3K0000000000000000000"),
                ("GET", "/v1/jobs/default.01JDX3K0000000000000000000?wait=5"),
                ("GET", "/v1/jobs/default.01JDX3K0000000000000000000/events"),
                ("POST", "/v1/jobs"),
                ("GET", "/readyz"),
                ("GET", "/v1/jobs"),
            ):
                started = time.monotonic()
                r = client.request(method, path, json={"task": "echo"} if method == "POST" else None)
                took = time.monotonic() - started
                assert r.status_code == 503, (path, r.text)
                assert r.headers["Retry-After"] == "1"
                assert took < 1.0, (path, took)
        finally:
            os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 10
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
