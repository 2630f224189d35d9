"""GET /v1/schedules, and the API's own scheduler: it enqueues periodic jobs with no worker running."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from stoker_queue import Broker, RedisSettings, Registry, Schedule, TaskInfo
from stoker_queue.keys import task_queues_key
from tests.api.conftest import ADMIN_KEY, error_of, make_client


def _publish(redis_url: str, *tasks: TaskInfo) -> None:
    async def run() -> None:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        try:
            await Registry(broker).publish_tasks(list(tasks), queues=["reports"])
        finally:
            await broker.close()

    asyncio.run(run())


NIGHTLY = TaskInfo(name="nightly", queue="reports", schedule=Schedule(cron="30 3 * * *", priority="low"))
BEAT = TaskInfo(name="beat", queue="reports", schedule=Schedule(every_s=1, input={"n": 1}))


def test_no_schedule_is_an_empty_page(client: TestClient) -> None:
    r = client.get("/v1/schedules")
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}


def test_a_schedule_shows_its_task_timing_and_next_run(client: TestClient, redis_url: str) -> None:
    _publish(redis_url, NIGHTLY)
    (item,) = client.get("/v1/schedules").json()["items"]
    assert {k: item[k] for k in ("name", "task", "queue", "priority", "cron", "every_s")} == {
        "name": "nightly",
        "task": "nightly",
        "queue": "reports",
        "priority": "low",
        "cron": "30 3 * * *",
        "every_s": None,
    }
    next_run = datetime.fromisoformat(item["next_run_at"])
    assert (next_run.hour, next_run.minute, next_run.second) == (3, 30, 0)
    assert item["last_run_at"] is None and item["last_job_id"] is None and item["paused"] is False


def test_schedules_need_a_key(redis_url: str) -> None:
    with make_client(redis_url, key=None) as anonymous:
        r = anonymous.get("/v1/schedules")
    assert r.status_code == 401 and error_of(r)["code"]


def test_the_api_enqueues_periodic_jobs_with_no_worker_running(redis_url: str) -> None:
    _publish(redis_url, BEAT, NIGHTLY)
    with make_client(redis_url, key=ADMIN_KEY) as admin:
        deadline = time.monotonic() + 10
        while True:
            beat = next(s for s in admin.get("/v1/schedules").json()["items"] if s["name"] == "beat")
            if beat["last_job_id"]:
                break
            assert time.monotonic() < deadline, beat
            time.sleep(0.05)
        assert beat["last_outcome"] == "fired"
        assert datetime.fromisoformat(beat["next_run_at"]) > datetime.fromisoformat(beat["last_run_at"])
        job = admin.get(f"/v1/jobs/{beat['last_job_id']}").json()
        assert job["task"] == "beat" and job["status"] == "queued" and job["metadata"]["schedule"] == "beat"
        metrics = admin.get("/metrics").text
    fired = [
        s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
        if s.name == "stoker_schedule_ticks_total"
        and s.labels == {"queue": "reports", "task": "beat", "outcome": "fired"}
    ]
    assert fired and fired[0] >= 1


def test_a_paused_queue_shows_on_its_schedules(admin: TestClient, redis_url: str) -> None:
    _publish(redis_url, NIGHTLY)
    assert admin.post("/v1/queues/reports/pause").status_code == 200
    (item,) = admin.get("/v1/schedules").json()["items"]
    assert item["paused"] is True


def test_a_removed_task_takes_its_schedule_with_it(admin: TestClient, redis_url: str) -> None:
    _publish(redis_url, NIGHTLY)

    async def forget() -> None:  # as if its last worker was gone for a while
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        try:
            await broker.redis.delete(task_queues_key("nightly"))
        finally:
            await broker.close()

    asyncio.run(forget())
    assert admin.delete("/v1/tasks/nightly").status_code == 200
    assert admin.get("/v1/schedules").json()["items"] == []
