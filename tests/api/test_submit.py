"""Submitting: catalog checks, defaults from the task, limits, batches, idempotency, rate limits."""

from __future__ import annotations

import pytest
import redis
from fastapi.testclient import TestClient

from tests.api.conftest import error_of, make_client


def test_submit_answers_202_with_id_and_links(client: TestClient) -> None:
    r = client.post("/v1/jobs", json={"task": "echo", "input": {"a": 1}, "metadata": {"k": "v"}})
    assert r.status_code == 202, r.text
    body = r.json()
    job_id = body["id"]
    assert body["status"] == "queued" and body["created"] is True
    assert body["links"] == {
        "self": f"/v1/jobs/{job_id}",
        "result": f"/v1/jobs/{job_id}/result",
        "events": f"/v1/jobs/{job_id}/events",
    }
    job = client.get(body["links"]["self"]).json()
    assert job["status"] == "queued" and job["metadata"] == {"k": "v"} and job["queue"] == "default"
    assert job["attempts"] == {"error": 0, "crash": 0, "evicted": 0}


def test_queue_attempts_and_timeout_default_to_the_tasks(client: TestClient, redis_url: str) -> None:
    job_id = client.post("/v1/jobs", json={"task": "sum", "input": {"values": [1]}}).json()["id"]
    assert job_id.startswith("math.")
    job = client.get(f"/v1/jobs/{job_id}").json()
    assert job["queue"] == "math"
    own = client.post("/v1/jobs", json={"task": "sum", "input": {"values": [1]}, "queue": "other"}).json()
    assert own["id"].startswith("other.")


def test_unknown_task_is_404_with_the_known_ones(client: TestClient) -> None:
    r = client.post("/v1/jobs", json={"task": "nope"})
    assert r.status_code == 404
    error = error_of(r)
    assert error["code"] == "unknown_task" and error["details"] == {"known_tasks": ["echo", "sum"]}


def test_input_that_misfits_the_schema_is_422_with_paths(client: TestClient) -> None:
    cases = [
        ({"values": []}, ["input.values"]),
        ({"values": [1, "x", 3]}, ["input.values.1"]),
        ({}, ["input"]),
        ({"values": [1], "extra": True}, ["input"]),
        ("text", ["input"]),
    ]
    for payload, fields in cases:
        r = client.post("/v1/jobs", json={"task": "sum", "input": payload})
        assert r.status_code == 422, (payload, r.text)
        error = error_of(r)
        assert error["code"] == "invalid_input"
        assert [d["field"] for d in error["details"]] == fields, (payload, error)  # type: ignore[attr-defined]


def test_request_schema_errors_are_422_with_field_paths(client: TestClient) -> None:
    cases = [
        ({}, "body.task"),
        ({"task": "echo", "queue": "Bad Queue"}, "body.queue"),
        ({"task": "echo", "priority": "urgent"}, "body.priority"),
        ({"task": "echo", "max_attempts": 0}, "body.max_attempts"),
        ({"task": "echo", "unknown": 1}, "body.unknown"),
        ({"task": "echo", "metadata": {"k": 1}}, "body.metadata.k"),
        ({"task": "echo", "webhook": {"url": "not a url"}}, "body.webhook.url"),
        ({"task": "echo", "delay_s": -1}, "body.delay_s"),
    ]
    for body, field in cases:
        r = client.post("/v1/jobs", json=body)
        assert r.status_code == 422, (body, r.text)
        error = error_of(r)
        assert error["code"] == "invalid_request"
        assert field in [d["field"] for d in error["details"]], (body, error)  # type: ignore[attr-defined]
    r = client.post("/v1/jobs?wait=61", json={"task": "echo"})
    assert r.status_code == 422 and "query.wait" in str(error_of(r)["details"])


def test_malformed_json_is_422(client: TestClient) -> None:
    r = client.post("/v1/jobs", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_request"


def test_size_limits_are_413_with_clear_messages(redis_url: str) -> None:
    with make_client(
        redis_url, max_input_bytes=100, max_metadata_bytes=50, max_body_bytes=2048, max_batch_jobs=3
    ) as client:
        r = client.post("/v1/jobs", json={"task": "echo", "input": "x" * 200})
        assert r.status_code == 413 and error_of(r)["code"] == "input_too_large"
        assert error_of(r)["details"] == {"size": 202, "limit": 100}
        r = client.post("/v1/jobs", json={"task": "echo", "metadata": {"k": "v" * 60}})
        assert r.status_code == 413 and error_of(r)["code"] == "metadata_too_large"
        r = client.post("/v1/jobs", json={"task": "echo", "input": "x" * 5000})
        assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"
        r = client.post("/v1/jobs/batch", json={"jobs": [{"task": "echo"}] * 4})
        assert r.status_code == 413 and error_of(r)["code"] == "batch_too_large"


def test_batch_is_one_round_trip_all_or_nothing(client: TestClient, redis_url: str) -> None:
    r = client.post("/v1/jobs/batch", json={"jobs": [{"task": "echo", "input": i} for i in range(500)]})
    assert r.status_code == 202, r.text
    body = r.json()
    assert set(body) == {"items", "next_cursor"} and len(body["items"]) == 500
    assert client.get(body["items"][499]["links"]["self"]).status_code == 200
    stats = redis.Redis.from_url(redis_url).info("commandstats")
    before = stats["cmdstat_evalsha"]["calls"]
    client.post("/v1/jobs/batch", json={"jobs": [{"task": "echo"}] * 100})
    assert (
        redis.Redis.from_url(redis_url).info("commandstats")["cmdstat_evalsha"]["calls"] == before + 2
    )  # rate + enqueue
    bad = client.post("/v1/jobs/batch", json={"jobs": [{"task": "echo"}, {"task": "sum", "input": {"values": []}}]})
    assert bad.status_code == 422
    assert error_of(bad)["details"][0]["field"] == "jobs.1.input.values"  # type: ignore[index]
    assert client.get("/v1/queues/default").json()["waiting_total"] == 600  # nothing from the refused batch


def test_idempotency_key_header_and_field(client: TestClient) -> None:
    first = client.post("/v1/jobs", json={"task": "echo"}, headers={"Idempotency-Key": "abc"}).json()
    again = client.post("/v1/jobs", json={"task": "echo"}, headers={"Idempotency-Key": "abc"}).json()
    field = client.post("/v1/jobs", json={"task": "echo", "idempotency_key": "abc"}).json()
    assert again["id"] == first["id"] == field["id"] and again["created"] is False


def test_submissions_are_rate_limited_per_key_across_replicas(redis_url: str) -> None:
    from tests.api.conftest import ADMIN_KEY

    limits = {"submit_rate": "1/min", "submit_burst": 3}
    with make_client(redis_url, **limits) as one, make_client(redis_url, **limits) as two:
        codes = [c.post("/v1/jobs", json={"task": "echo"}).status_code for c in (one, two, one, two)]
        assert codes == [202, 202, 202, 429]
        r = one.post("/v1/jobs", json={"task": "echo"})
        assert r.status_code == 429 and error_of(r)["code"] == "rate_limited"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        over = one.post("/v1/jobs/batch", json={"jobs": [{"task": "echo"}] * 4})
        assert over.status_code == 413 and error_of(over)["code"] == "batch_over_burst"
    with make_client(redis_url, key=ADMIN_KEY, **limits) as other_key:
        assert other_key.post("/v1/jobs", json={"task": "echo"}).status_code == 202


def test_submit_rate_off_puts_no_limit_on_a_key(redis_url: str) -> None:
    with make_client(redis_url, submit_rate="off", submit_burst=2) as client:
        codes = {client.post("/v1/jobs", json={"task": "echo"}).status_code for _ in range(5)}
        assert codes == {202}
        assert client.post("/v1/jobs/batch", json={"jobs": [{"task": "echo"}] * 10}).status_code == 202


def test_a_submit_rate_that_is_not_a_rate_is_refused() -> None:
    from pydantic import ValidationError

    from tests.api.conftest import settings_for

    with pytest.raises(ValidationError, match="not a rate"):
        settings_for("redis://127.0.0.1:1/0", submit_rate="lots")


def test_webhook_is_kept_on_the_job(client: TestClient, redis_url: str) -> None:
    import asyncio

    from stoker_queue import Broker, Reader, RedisSettings

    body = {"task": "echo", "webhook": {"url": "https://hooks.example.com/done", "events": ["succeeded"]}}
    job_id = client.post("/v1/jobs", json=body).json()["id"]

    async def envelope_webhook() -> object:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        try:
            return (await Reader(broker).get_job(job_id)).envelope.webhook
        finally:
            await broker.close()

    hook = asyncio.run(envelope_webhook())
    assert hook is not None and hook.url == "https://hooks.example.com/done" and hook.events == ("succeeded",)  # type: ignore[attr-defined]


def test_a_chunked_body_over_the_limit_is_413_json(redis_url: str) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"task": "echo", "input": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    with make_client(redis_url, max_body_bytes=4096) as client:
        r = client.post("/v1/jobs", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"
        small = client.post(
            "/v1/jobs", content=iter([b'{"task": ', b'"echo"}']), headers={"Content-Type": "application/json"}
        )
        assert small.status_code == 202, small.text


def test_an_idempotent_resubmit_reports_the_existing_jobs_status(client: TestClient, redis_url: str) -> None:
    from tests.support.work import work_one

    first = client.post("/v1/jobs", json={"task": "echo", "idempotency_key": "once"}).json()
    work_one(redis_url, "done")
    again = client.post("/v1/jobs", json={"task": "echo", "idempotency_key": "once"}).json()
    assert (again["id"], again["created"], again["status"]) == (first["id"], False, "succeeded")


def test_nan_infinity_and_booleans_for_numbers_are_422(client: TestClient) -> None:
    cases = [
        (b'{"task": "echo", "input": NaN}', "body.input"),
        (b'{"task": "echo", "input": {"x": [1, Infinity]}}', "body.input"),
        (b'{"task": "echo", "input": -Infinity}', "body.input"),
        (b'{"task": "echo", "delay_s": NaN}', "body.delay_s"),
        (b'{"task": "echo", "timeout_s": Infinity}', "body.timeout_s"),
        (b'{"task": "echo", "max_attempts": true}', "body.max_attempts"),
        (b'{"task": "echo", "delay_s": false}', "body.delay_s"),
        (b'{"task": "echo", "timeout_s": true}', "body.timeout_s"),
        (b'{"task": "echo", "ttl_s": true}', "body.ttl_s"),
        (b'{"jobs": [{"task": "echo", "input": NaN}]}', "body.jobs.0.input"),
    ]
    for body, field in cases:
        path = "/v1/jobs/batch" if body.startswith(b'{"jobs"') else "/v1/jobs"
        r = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (body, r.text)
        error = error_of(r)
        assert error["code"] == "invalid_request"
        assert field in [d["field"] for d in error["details"]], (body, error)  # type: ignore[attr-defined]
    fine = client.post("/v1/jobs", json={"task": "echo", "input": [True, 1.5], "delay_s": 1, "max_attempts": 2})
    assert fine.status_code == 202, fine.text
