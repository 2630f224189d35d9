"""The jobs routes of the slice: submit, status, result, and their errors."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient

from stoker_queue import Broker, Consumer, RedisSettings


def _error(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]  # type: ignore[no-any-return]


def _work_one(redis_url: str, output: object) -> None:
    async def run() -> None:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        consumer = Consumer(broker, worker_id="test")
        (job,) = (await consumer.claim("default", 1)).jobs
        await consumer.ack(job, output)
        await broker.close()

    asyncio.run(run())


def test_submit_answers_202_with_id_and_links(client: TestClient) -> None:
    r = client.post("/v1/jobs", json={"task": "echo", "input": {"a": 1}, "metadata": {"k": "v"}})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and body["created"] is True
    assert body["links"] == {"self": f"/v1/jobs/{body['id']}", "result": f"/v1/jobs/{body['id']}/result"}
    job = client.get(body["links"]["self"]).json()
    assert job["status"] == "queued" and job["metadata"] == {"k": "v"} and job["queue"] == "default"
    assert job["attempts"] == {"error": 0, "crash": 0, "evicted": 0}


def test_delayed_submit_is_scheduled(client: TestClient) -> None:
    r = client.post("/v1/jobs", json={"task": "echo", "delay_s": 30})
    assert r.json()["status"] == "scheduled"
    assert client.get(f"/v1/jobs/{r.json()['id']}").json()["status"] == "scheduled"


def test_idempotency_key_header_returns_the_same_job(client: TestClient) -> None:
    first = client.post("/v1/jobs", json={"task": "echo"}, headers={"Idempotency-Key": "abc"}).json()
    again = client.post("/v1/jobs", json={"task": "echo"}, headers={"Idempotency-Key": "abc"}).json()
    assert again["id"] == first["id"] and again["created"] is False


def test_result_is_409_until_done_then_the_output(client: TestClient, newest_redis_url: str) -> None:
    job_id = client.post("/v1/jobs", json={"task": "echo", "input": [1, 2]}).json()["id"]
    r = client.get(f"/v1/jobs/{job_id}/result")
    assert r.status_code == 409 and _error(r)["code"] == "result_not_ready"
    _work_one(newest_redis_url, {"sum": 3})
    r = client.get(f"/v1/jobs/{job_id}/result")
    assert r.status_code == 200 and r.json() == {"id": job_id, "output": {"sum": 3}}


def test_unknown_and_malformed_ids_are_404(client: TestClient) -> None:
    for job_id in ("default.01JDX3K0000000000000000000", "nope", "default.%20", "x" * 300):
        for path in (f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/result"):
            r = client.get(path)
            assert r.status_code == 404, (path, r.text)
            assert _error(r)["code"] in ("job_not_found", "not_found")


def test_invalid_submissions_are_422_with_field_paths(client: TestClient) -> None:
    cases = [
        ({}, "body.task"),
        ({"task": "echo", "queue": "Bad Queue"}, "body.queue"),
        ({"task": "echo", "priority": "urgent"}, "body.priority"),
        ({"task": "echo", "max_attempts": 0}, "body.max_attempts"),
        ({"task": "echo", "unknown": 1}, "body.unknown"),
        ({"task": "echo", "metadata": {"k": 1}}, "body.metadata.k"),
    ]
    for body, field in cases:
        r = client.post("/v1/jobs", json=body)
        assert r.status_code == 422, (body, r.text)
        error = _error(r)
        assert error["code"] == "invalid_request"
        assert field in [d["field"] for d in error["details"]], (body, error)  # type: ignore[attr-defined]


def test_non_json_body_is_a_json_error(client: TestClient) -> None:
    r = client.post("/v1/jobs", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and _error(r)["code"] == "invalid_request"


def test_unknown_route_and_method_are_json_errors(client: TestClient) -> None:
    r = client.get("/v1/nothing")
    assert r.status_code == 404 and _error(r)["code"] == "not_found"
    r = client.delete("/v1/jobs")
    assert r.status_code == 405 and _error(r)["code"] == "method_not_allowed"
