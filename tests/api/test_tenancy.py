"""Tenants: a job belongs to the key that submitted it; other user keys never see it; admins see all."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from stoker_queue import Broker, RedisSettings, Registry
from stoker_queue.keys import QueueKeys
from tests.api.conftest import ADMIN_KEY, CATALOG, USER_KEY, error_of, make_client
from tests.support.work import _as_worker

OTHER_KEY = "other-key-0123456789abcdef"
KEYS = [USER_KEY, OTHER_KEY]


@pytest.fixture
def alice(redis_url: str) -> Iterator[TestClient]:
    with make_client(redis_url, key=USER_KEY, api_keys=KEYS) as c:
        yield c


@pytest.fixture
def bob(redis_url: str) -> Iterator[TestClient]:
    with make_client(redis_url, key=OTHER_KEY, api_keys=KEYS) as c:
        yield c


@pytest.fixture
def root(redis_url: str) -> Iterator[TestClient]:
    with make_client(redis_url, key=ADMIN_KEY, api_keys=KEYS) as c:
        yield c


def _submit(client: TestClient, **body: object) -> str:
    r = client.post("/v1/jobs", json={"task": "echo", **body})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def test_other_user_keys_get_404_on_every_job_route(alice: TestClient, bob: TestClient, root: TestClient) -> None:
    job_id = _submit(alice, webhook={"url": "https://hooks.example.com/secret-path"})
    for method, path in (
        ("GET", f"/v1/jobs/{job_id}"),
        ("GET", f"/v1/jobs/{job_id}?wait=0.1"),
        ("GET", f"/v1/jobs/{job_id}/result"),
        ("GET", f"/v1/jobs/{job_id}/events"),
        ("POST", f"/v1/jobs/{job_id}/cancel"),
        ("POST", f"/v1/jobs/{job_id}/retry"),
    ):
        r = bob.request(method, path)
        assert r.status_code == 404, (method, path, r.text)
        assert error_of(r)["code"] == "job_not_found"
        assert "secret-path" not in r.text
    assert alice.get(f"/v1/jobs/{job_id}").json()["status"] == "queued"  # bob's cancel did nothing
    assert root.get(f"/v1/jobs/{job_id}").status_code == 200
    assert root.post(f"/v1/jobs/{job_id}/cancel").json()["status"] == "canceled"
    assert alice.post(f"/v1/jobs/{job_id}/retry").json()["status"] == "queued"


def test_listings_show_only_the_callers_jobs_and_admins_all(
    alice: TestClient, bob: TestClient, root: TestClient
) -> None:
    mine = [_submit(alice, input=i) for i in range(3)]
    theirs = [_submit(bob, input=i) for i in range(2)]
    assert [j["id"] for j in alice.get("/v1/jobs").json()["items"]] == mine[::-1]
    assert [j["id"] for j in bob.get("/v1/jobs", params={"status": "queued"}).json()["items"]] == theirs[::-1]
    page = alice.get("/v1/jobs", params={"limit": 2}).json()
    rest = alice.get("/v1/jobs", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [j["id"] for j in page["items"] + rest["items"]] == mine[::-1]
    assert {j["id"] for j in root.get("/v1/jobs").json()["items"]} == set(mine + theirs)


def test_the_key_itself_is_never_stored(alice: TestClient, redis_url: str) -> None:
    job_id = _submit(alice)
    raw = redis.Redis.from_url(redis_url).hget(QueueKeys("default").jobs, job_id)
    assert raw is not None and USER_KEY.encode() not in raw


def test_idempotency_keys_are_per_key(alice: TestClient, bob: TestClient) -> None:
    first = alice.post("/v1/jobs", json={"task": "echo"}, headers={"Idempotency-Key": "k"}).json()
    other = bob.post("/v1/jobs", json={"task": "echo"}, headers={"Idempotency-Key": "k"}).json()
    assert other["created"] is True and other["id"] != first["id"]
    assert bob.get(f"/v1/jobs/{other['id']}").status_code == 200


def test_the_same_idempotency_key_for_another_request_is_409(alice: TestClient) -> None:
    first = alice.post("/v1/jobs", json={"task": "echo", "input": 1, "idempotency_key": "k"}).json()
    r = alice.post("/v1/jobs", json={"task": "echo", "input": 2, "idempotency_key": "k"})
    assert r.status_code == 409 and error_of(r)["code"] == "idempotency_conflict", r.text
    r = alice.post("/v1/jobs/batch", json={"jobs": [{"task": "echo", "input": 3, "idempotency_key": "k"}]})
    assert r.status_code == 409 and error_of(r)["code"] == "idempotency_conflict", r.text
    again = alice.post("/v1/jobs", json={"task": "echo", "input": 1}, headers={"Idempotency-Key": "k"}).json()
    assert (again["id"], again["created"]) == (first["id"], False)


def test_header_and_body_idempotency_keys_that_differ_are_422(alice: TestClient) -> None:
    r = alice.post("/v1/jobs", json={"task": "echo", "idempotency_key": "a"}, headers={"Idempotency-Key": "b"})
    assert r.status_code == 422, r.text
    assert error_of(r)["code"] == "idempotency_key_mismatch"
    same = alice.post("/v1/jobs", json={"task": "echo", "idempotency_key": "a"}, headers={"Idempotency-Key": "a"})
    assert same.status_code == 202


def test_tracebacks_are_for_admin_keys_only(alice: TestClient, root: TestClient, redis_url: str) -> None:
    job_id = _submit(alice)
    trace = 'Traceback (most recent call last):\n  File "handler.py", line 3\nValueError: bad'
    _as_worker(
        redis_url,
        "default",
        lambda c, job: c.fail(job, code="ValueError", message="bad", details={"traceback": trace}, retry=False),
    )
    seen = alice.get(f"/v1/jobs/{job_id}").json()["error"]
    assert seen["code"] == "ValueError" and seen["message"] == "bad"
    assert "Traceback" not in str(seen)
    assert "Traceback" not in alice.get("/v1/jobs").text
    with alice.stream("GET", f"/v1/jobs/{job_id}/events") as events:
        assert "Traceback" not in "".join(events.iter_text())
    assert root.get(f"/v1/jobs/{job_id}").json()["error"]["details"] == {"traceback": trace}


def test_a_resubmit_matches_what_was_sent_not_the_tasks_defaults(alice: TestClient, redis_url: str) -> None:
    body = {"task": "sum", "input": {"values": [1]}, "idempotency_key": "k"}
    first = alice.post("/v1/jobs", json=body).json()

    async def republish() -> None:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        await Registry(broker).publish_tasks([CATALOG[1].model_copy(update={"max_attempts": 9})])
        await broker.close()

    asyncio.run(republish())  # a rollout changed the task's default attempts between a submit and its retry
    again = alice.post("/v1/jobs", json=body)
    assert again.status_code == 202, again.text
    assert (again.json()["id"], again.json()["created"]) == (first["id"], False)
