"""The OpenAPI document tells the truth: media types, every status each route answers, 405s."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from stoker_queue.keys import QueueKeys
from tests.api.conftest import ADMIN_KEY, error_of, make_client, publish_catalog
from tests.support.redis_server import RedisProcess
from tests.support.work import fail_one, work_one

JOB = "default.01JDX3K0000000000000000000"


def _documented(client: TestClient) -> dict[tuple[str, str], set[int]]:
    paths = client.get("/openapi.json").json()["paths"]
    return {(m.upper(), p): {int(s) for s in op["responses"]} for p, ops in paths.items() for m, op in ops.items()}


def test_the_events_route_is_documented_as_an_event_stream(client: TestClient) -> None:
    ok = client.get("/openapi.json").json()["paths"]["/v1/jobs/{job_id}/events"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["text/event-stream"]


def _ask(client: TestClient, method: str, path: str, **kw: Any) -> int:
    return client.request(method, path, **kw).status_code


def _answers(client: TestClient, admin: TestClient, redis_url: str) -> list[tuple[str, str, int]]:
    """Provoke every answer each route can give; (method, template, status) for each."""
    out: list[tuple[str, str, int]] = []

    def ask(who: TestClient, method: str, template: str, path: str | None = None, **kw: Any) -> str:
        r = who.request(method, path or template, **kw)
        out.append((method, template, r.status_code))
        return r.text

    submit, batch = "/v1/jobs", "/v1/jobs/batch"
    ask(client, "POST", submit, json={"task": "echo", "idempotency_key": "k", "input": 1})
    ask(client, "POST", submit, json={"task": "echo", "idempotency_key": "k", "input": 2})  # 409
    ask(client, "POST", submit, json={"task": "nope"})  # 404
    ask(client, "POST", submit, json={"task": "echo", "input": "x" * 20_000})  # 413 input
    ask(client, "POST", submit, json={"task": "echo"}, params={"wait": 61})  # 422
    ask(client, "POST", batch, json={"jobs": [{"task": "echo", "idempotency_key": "k", "input": 3}]})  # 409
    ask(client, "POST", batch, json={"jobs": [{"task": "nope"}]})
    ask(client, "POST", batch, json={"jobs": [{"task": "echo"}] * 11})  # 413 batch
    ask(client, "POST", batch, json={"jobs": []})
    # High priority: the worker claims these before the jobs already waiting.
    job_id = client.post(submit, json={"task": "echo", "priority": "high"}).json()["id"]
    work_one(redis_url, "out")
    failed = client.post(submit, json={"task": "echo", "priority": "high"}).json()["id"]
    fail_one(redis_url)
    lapsed = client.post(submit, json={"task": "echo", "priority": "high"}).json()["id"]
    work_one(redis_url, "out")
    redis.Redis.from_url(redis_url).delete(QueueKeys("default").result(lapsed))  # as if its TTL ran out
    ask(client, "GET", "/v1/jobs/{job_id}/result", f"/v1/jobs/{lapsed}/result")  # 410
    queued = client.post(submit, json={"task": "echo"}).json()["id"]
    ask(client, "POST", submit, json={"task": "echo"}, params={"wait": 0.05})  # 202 after waiting
    for template, ok_id, bad_id in (
        ("/v1/jobs/{job_id}", job_id, JOB),
        ("/v1/jobs/{job_id}/result", job_id, queued),
        ("/v1/jobs/{job_id}/events", job_id, JOB),
        ("/v1/jobs/{job_id}/cancel", queued, job_id),
        ("/v1/jobs/{job_id}/retry", failed, job_id),
    ):
        method = "POST" if template.endswith(("cancel", "retry")) else "GET"
        for j in (ok_id, bad_id, JOB):
            ask(client, method, template, template.replace("{job_id}", j))
    ask(client, "GET", "/v1/jobs/{job_id}", f"/v1/jobs/{job_id}", params={"wait": "x"})
    ask(client, "GET", "/v1/jobs", params={"limit": 0})
    ask(client, "GET", "/v1/jobs")
    ask(client, "GET", "/v1/queues")
    ask(client, "GET", "/v1/queues/{queue}", "/v1/queues/default")
    ask(client, "GET", "/v1/queues/{queue}", "/v1/queues/never")
    ask(client, "GET", "/v1/queues/{queue}", "/v1/queues/Bad!")
    for action in ("pause", "resume", "purge", "dead/retry"):
        template = f"/v1/queues/{{queue}}/{action}"
        ask(client, "POST", template, template.replace("{queue}", "default"))
        ask(admin, "POST", template, template.replace("{queue}", "default"))
        ask(admin, "POST", template, template.replace("{queue}", "Bad!"))
    ask(client, "GET", "/v1/workers")
    ask(client, "GET", "/v1/tasks")
    ask(client, "GET", "/v1/schedules")
    for path in ("/healthz", "/readyz", "/metrics"):
        ask(client, "GET", path)
    return out


def test_every_answer_a_route_gives_is_documented(redis_url: str) -> None:
    limits = {"max_input_bytes": 10_000, "max_batch_jobs": 10, "submit_rate": "1/min", "submit_burst": 30}
    with make_client(redis_url, **limits) as client, make_client(redis_url, key=ADMIN_KEY, **limits) as admin:
        answers = _answers(client, admin, redis_url)
        for _ in range(30):
            answers.append(("POST", "/v1/jobs", _ask(client, "POST", "/v1/jobs", json={"task": "echo"})))
        assert ("POST", "/v1/jobs", 429) in answers
        documented = _documented(client)
        with make_client(redis_url, key=None) as anonymous:
            for method, path in documented:
                if path.startswith("/v1"):
                    answers.append((method, path, _ask(anonymous, method, path.replace("{job_id}", JOB))))
        with make_client(redis_url, max_body_bytes=1024) as small:
            for method, path in documented:
                concrete = path.replace("{job_id}", JOB).replace("{queue}", "default")
                status = _ask(small, method, concrete, content=b"x" * 2048, headers={"Content-Type": "text/plain"})
                answers.append((method, path, status))
    missing = sorted({(m, p, s) for m, p, s in answers if s not in documented[(m, p)]})
    assert not missing, missing
    assert {s for _, _, s in answers} >= {200, 202, 401, 403, 404, 409, 410, 413, 422, 429}


def test_a_redis_outage_is_documented_on_every_route(own_redis: RedisProcess) -> None:
    publish_catalog(own_redis.url)
    with make_client(own_redis.url, key=ADMIN_KEY) as client:
        documented = _documented(client)
        own_redis.stop()
        for method, path in documented:
            concrete = path.replace("{job_id}", JOB).replace("{queue}", "default")
            status = _ask(client, method, concrete, json={"task": "echo", "jobs": [{"task": "echo"}]})
            if status == 503:
                assert 503 in documented[(method, path)], (method, path)
            else:
                assert status in documented[(method, path)], (method, path, status)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/jobs/batch"),
        ("PUT", "/v1/jobs/batch"),
        ("DELETE", "/v1/jobs"),
        ("PUT", f"/v1/jobs/{JOB}"),
        ("GET", f"/v1/jobs/{JOB}/cancel"),
        ("DELETE", "/v1/queues/default"),
        ("GET", "/v1/queues/default/pause"),
        ("POST", "/v1/workers"),
        ("POST", "/healthz"),
    ],
)
def test_unsupported_methods_are_405_with_the_error_shape(client: TestClient, method: str, path: str) -> None:
    r = client.request(method, path)
    assert r.status_code == 405, r.text
    assert error_of(r)["code"] == "method_not_allowed"
    assert r.headers["Allow"]


def test_every_protected_operation_declares_the_bearer_key_and_no_public_one_does(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearerKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearerKey"]["description"],
    }
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            declared = operation.get("security")
            if path.startswith("/v1/"):
                assert declared == [{"bearerKey": []}], (method, path)
                assert "401" in operation["responses"], (method, path)  # what a missing key gets
            else:
                assert declared is None, (method, path)
    assert any(not p.startswith("/v1/") for p in schema["paths"]), "the health routes are public"
