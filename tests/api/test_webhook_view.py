"""The job view's ``webhook``: delivery state, attempts and last error, read from the job's state record."""

from __future__ import annotations

import json

import redis
from fastapi.testclient import TestClient

from stoker_queue.keys import QueueKeys
from tests.api.conftest import make_client
from tests.support.work import work_one

HOOK = {"url": "https://hooks.example.com/done"}


def _write_delivery(redis_url: str, job_id: str, **fields: object) -> None:
    """What the webhook deliverer writes on the job's state record."""
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    q = QueueKeys(job_id.split(".")[0])
    state = json.loads(r.hget(q.state, job_id))  # type: ignore[arg-type]
    r.hset(q.state, job_id, json.dumps(state | fields))


def test_a_job_without_a_webhook_has_none(client: TestClient) -> None:
    job_id = client.post("/v1/jobs", json={"task": "echo"}).json()["id"]
    assert client.get(f"/v1/jobs/{job_id}").json()["webhook"] is None


def test_the_delivery_state_attempts_and_error_are_shown(client: TestClient, redis_url: str) -> None:
    job_id = client.post("/v1/jobs", json={"task": "echo", "webhook": HOOK}).json()["id"]
    assert client.get(f"/v1/jobs/{job_id}").json()["webhook"] is None  # nothing to deliver before it ends
    work_one(redis_url, "out")
    assert client.get(f"/v1/jobs/{job_id}").json()["webhook"] == {"state": "pending", "attempts": 0, "error": None}
    _write_delivery(redis_url, job_id, webhook_state="failed", webhook_attempts="3", webhook_error="HTTP 502")
    view = client.get(f"/v1/jobs/{job_id}").json()
    assert view["webhook"] == {"state": "failed", "attempts": 3, "error": "HTTP 502"}
    assert "hooks.example.com" not in json.dumps(view)
    _write_delivery(redis_url, job_id, webhook_state="delivered", webhook_attempts=4, webhook_error="")
    assert client.get(f"/v1/jobs/{job_id}").json()["webhook"] == {"state": "delivered", "attempts": 4, "error": None}
    listed = client.get("/v1/jobs").json()["items"][0]
    assert listed["webhook"]["state"] == "delivered"


def test_the_webhook_view_is_in_the_schema(redis_url: str) -> None:
    with make_client(redis_url) as client:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "webhook" in schemas["JobView"]["properties"]
    view = schemas["WebhookView"]
    assert view["properties"]["state"]["enum"] == ["pending", "delivered", "failed", "refused"]
    assert set(view["properties"]) == {"state", "attempts", "error"}
