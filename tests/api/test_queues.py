"""Queues, workers, tasks and metrics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from stoker_queue import Broker, RedisSettings, Registry, WorkerInfo
from tests.api.conftest import SUM_SCHEMA, error_of
from tests.support.work import claim_one, fail_one


def _heartbeat(redis_url: str, worker_id: str, queues: list[str]) -> None:
    async def run() -> None:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        info = WorkerInfo(
            id=worker_id, queues=queues, device="cuda:0", gpu_name="NVIDIA L4", slots=2, started_at=datetime.now(UTC)
        )
        await Registry(broker).heartbeat(info, ttl_s=30)
        await broker.close()

    asyncio.run(run())


def test_queue_view_counts_everything(client: TestClient, redis_url: str) -> None:
    for priority in ("high", "low", "low"):
        client.post("/v1/jobs", json={"task": "echo", "priority": priority})
    client.post("/v1/jobs", json={"task": "echo", "delay_s": 60})
    client.post("/v1/jobs", json={"task": "echo", "priority": "high"})
    claim_one(redis_url)  # a high one
    fail_one(redis_url)  # the other high one
    _heartbeat(redis_url, "gpu-0", ["default", "other"])
    _heartbeat(redis_url, "gpu-1", ["other"])
    view = client.get("/v1/queues/default").json()
    assert view["waiting"] == {"high": 0, "normal": 0, "low": 2} and view["waiting_total"] == 2
    assert (view["scheduled"], view["running"], view["dead"], view["workers"]) == (1, 1, 1, 1)
    assert view["paused"] is False and view["oldest_waiting_age_s"] >= 0
    listing = client.get("/v1/queues").json()
    assert [q["name"] for q in listing["items"]] == ["default"] and listing["next_cursor"] is None


def test_unknown_queue_is_404_and_a_bad_name_422(client: TestClient) -> None:
    r = client.get("/v1/queues/never-used")
    assert r.status_code == 404 and error_of(r)["code"] == "queue_not_found"
    assert client.get("/v1/queues/Bad Name").status_code == 422


def test_admin_pause_resume_purge_and_dead_retry(admin: TestClient, redis_url: str) -> None:
    ids = [admin.post("/v1/jobs", json={"task": "echo"}).json()["id"] for _ in range(3)]
    fail_one(redis_url)
    r = admin.post("/v1/queues/default/pause")
    assert r.status_code == 200 and r.json()["paused"] is True
    assert admin.post("/v1/queues/default/resume").json()["paused"] is False
    assert admin.post("/v1/queues/default/dead/retry").json() == {"queue": "default", "count": 1}
    assert admin.post("/v1/queues/default/purge").json() == {"queue": "default", "count": 3}
    assert {admin.get(f"/v1/jobs/{i}").json()["status"] for i in ids} == {"canceled"}


def test_workers_and_tasks(client: TestClient, redis_url: str) -> None:
    _heartbeat(redis_url, "gpu-0", ["default"])
    workers = client.get("/v1/workers").json()
    assert [w["id"] for w in workers["items"]] == ["gpu-0"]
    assert workers["items"][0]["gpu_name"] == "NVIDIA L4" and workers["items"][0]["slots"] == 2
    tasks = {t["name"]: t for t in client.get("/v1/tasks").json()["items"]}
    assert set(tasks) == {"echo", "sum"}
    assert tasks["sum"]["input_schema"] == SUM_SCHEMA and tasks["sum"]["queue"] == "math"


def test_metrics_count_submissions_and_requests(client: TestClient) -> None:
    client.post("/v1/jobs", json={"task": "echo"})
    client.post("/v1/jobs", json={"task": "echo"}, headers={"Idempotency-Key": "once"})
    client.post("/v1/jobs", json={"task": "echo"}, headers={"Idempotency-Key": "once"})
    text = client.get("/metrics").text
    assert 'stoker_jobs_submitted_total{queue="default",task="echo"} 2.0' in text
    assert 'stoker_http_request_duration_seconds_count{method="POST",route="/v1/jobs",status="202"} 3.0' in text
    assert "default." not in text  # no job id is ever a label
