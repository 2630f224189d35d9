"""A submit to a queue that no worker of the task claims is refused with the queues that do serve it
(without this the job would wait forever); where the catalog names no queue, nothing is refused."""

from __future__ import annotations

import asyncio
import time

from fastapi.testclient import TestClient

from stoker_queue import Broker, FakeClock, RedisSettings, Registry, TaskInfo
from tests.api.conftest import error_of


def _publish(redis_url: str, info: TaskInfo, queues: list[str]) -> None:
    async def run() -> None:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        await Registry(broker).publish_tasks([info], queues=queues)
        await broker.close()

    asyncio.run(run())


def test_a_queue_the_task_is_not_served_on_is_422_naming_those_that_are(redis_url: str, client: TestClient) -> None:
    _publish(redis_url, TaskInfo(name="embed", queue="embed"), ["embed", "gpu-small"])
    answer = client.post("/v1/jobs", json={"task": "embed", "input": {}, "queue": "default"})
    assert answer.status_code == 422, answer.text
    error = error_of(answer)
    assert error["code"] == "queue_not_served"
    assert error["details"] == {"task": "embed", "queue": "default", "served_on": ["embed", "gpu-small"]}
    for queue in ("embed", "gpu-small", None):
        body = {"task": "embed", "input": {}} | ({"queue": queue} if queue else {})
        assert client.post("/v1/jobs", json=body).status_code == 202, queue


def test_a_task_whose_own_queue_nobody_claims_is_refused_too(redis_url: str, client: TestClient) -> None:
    _publish(redis_url, TaskInfo(name="caption", queue="gpu-l4"), ["default"])  # a worker missing --queues
    answer = client.post("/v1/jobs", json={"task": "caption", "input": {}})
    assert answer.status_code == 422 and error_of(answer)["code"] == "queue_not_served"
    assert client.post("/v1/jobs", json={"task": "caption", "input": {}, "queue": "default"}).status_code == 202


def test_a_worker_starting_on_a_new_queue_is_seen_at_once(redis_url: str, client: TestClient) -> None:
    _publish(redis_url, TaskInfo(name="embed", queue="embed"), ["embed"])
    assert client.post("/v1/jobs", json={"task": "embed", "input": {}, "queue": "batch"}).status_code == 422
    _publish(redis_url, TaskInfo(name="embed", queue="embed"), ["batch"])
    assert client.post("/v1/jobs", json={"task": "embed", "input": {}, "queue": "batch"}).status_code == 202


def test_a_catalog_entry_without_queues_refuses_nothing(client: TestClient) -> None:
    assert client.post("/v1/jobs", json={"task": "echo", "input": 1, "queue": "anywhere"}).status_code == 202


def test_a_batch_names_the_job_on_an_unserved_queue(redis_url: str, client: TestClient) -> None:
    _publish(redis_url, TaskInfo(name="embed", queue="embed"), ["embed"])
    jobs = [{"task": "embed", "input": {}}, {"task": "embed", "input": {}, "queue": "nowhere"}]
    answer = client.post("/v1/jobs/batch", json={"jobs": jobs})
    assert answer.status_code == 422 and error_of(answer)["code"] == "queue_not_served"


def test_the_catalog_shows_each_tasks_queues_and_when_it_was_last_served(redis_url: str, client: TestClient) -> None:
    _publish(redis_url, TaskInfo(name="embed", queue="embed"), ["embed", "gpu-small"])
    (embed,) = [t for t in client.get("/v1/tasks").json()["items"] if t["name"] == "embed"]
    assert embed["queue"] == "embed" and embed["queues"] == ["embed", "gpu-small"]
    assert embed["served_at"] is not None


def _publish_at(redis_url: str, info: TaskInfo, queues: list[str], seconds_ago: float) -> None:
    async def run() -> None:
        then = FakeClock(int((time.time() - seconds_ago) * 1000))  # when the worker last published it
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url), clock=then)
        await Registry(broker).publish_tasks([info], queues=queues)
        await broker.close()

    asyncio.run(run())


def test_an_admin_removes_a_task_nobody_serves_any_more(redis_url: str, client: TestClient, admin: TestClient) -> None:
    _publish_at(redis_url, TaskInfo(name="retired", queue="old"), ["old"], seconds_ago=3600)
    assert client.delete("/v1/tasks/retired").status_code == 403  # admin keys only
    answer = admin.delete("/v1/tasks/retired")
    assert answer.status_code == 200 and answer.json()["name"] == "retired", answer.text
    assert "retired" not in [t["name"] for t in client.get("/v1/tasks").json()["items"]]
    assert error_of(client.post("/v1/jobs", json={"task": "retired", "input": 1}))["code"] == "unknown_task"
    assert error_of(admin.delete("/v1/tasks/retired"))["code"] == "unknown_task"


def test_a_task_a_live_worker_serves_is_not_removed(redis_url: str, admin: TestClient) -> None:
    _publish_at(redis_url, TaskInfo(name="busy", queue="q"), ["q"], seconds_ago=2)
    answer = admin.delete("/v1/tasks/busy")
    assert answer.status_code == 409 and error_of(answer)["code"] == "task_in_use"
    assert "busy" in [t["name"] for t in admin.get("/v1/tasks").json()["items"]]
