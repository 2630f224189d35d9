"""Reading, cancelling, retrying and listing jobs."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import error_of
from tests.support.work import claim_one, fail_one, work_one


def _submit(client: TestClient, **body: object) -> str:
    r = client.post("/v1/jobs", json={"task": "echo", **body})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def test_result_is_409_until_done_then_the_output(client: TestClient, redis_url: str) -> None:
    job_id = _submit(client, input=[1, 2])
    r = client.get(f"/v1/jobs/{job_id}/result")
    assert r.status_code == 409 and error_of(r)["code"] == "result_not_ready"
    work_one(redis_url, {"sum": 3})
    r = client.get(f"/v1/jobs/{job_id}/result")
    assert r.status_code == 200 and r.json() == {"id": job_id, "output": {"sum": 3}}
    job = client.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["worker"] == "test-worker" and job["timings"]["total_s"] >= 0


def test_expired_jobs_and_lapsed_results_are_410(client: TestClient, redis_url: str) -> None:
    import asyncio
    import time

    import redis

    from stoker_queue import Broker, Consumer, RedisSettings
    from stoker_queue.keys import QueueKeys

    expired = _submit(client, ttl_s=0.001)
    time.sleep(0.01)

    async def claim_nothing() -> None:
        broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
        assert (await Consumer(broker, worker_id="w").claim("default", 1)).jobs == []  # expires it on the way
        await broker.close()

    asyncio.run(claim_nothing())
    assert client.get(f"/v1/jobs/{expired}").json()["status"] == "expired"
    r = client.get(f"/v1/jobs/{expired}/result")
    assert r.status_code == 410 and error_of(r)["code"] == "result_expired"

    done = _submit(client)
    work_one(redis_url, "output")
    redis.Redis.from_url(redis_url).delete(QueueKeys("default").result(done))  # as if its TTL ran out
    r = client.get(f"/v1/jobs/{done}/result")
    assert r.status_code == 410 and error_of(r)["code"] == "result_expired"


def test_unknown_and_malformed_ids_are_404(client: TestClient) -> None:
    for job_id in ("default.01JDX3K0000000000000000000", "nope", "default.%20", "x" * 300):
        for method, path in (
            ("GET", f"/v1/jobs/{job_id}"),
            ("GET", f"/v1/jobs/{job_id}/result"),
            ("GET", f"/v1/jobs/{job_id}/events"),
            ("POST", f"/v1/jobs/{job_id}/cancel"),
            ("POST", f"/v1/jobs/{job_id}/retry"),
        ):
            r = client.request(method, path)
            assert r.status_code == 404, (path, r.text)
            assert error_of(r)["code"] in ("job_not_found", "not_found")


def test_cancel_waiting_running_and_finished(client: TestClient, redis_url: str) -> None:
    waiting = _submit(client)
    r = client.post(f"/v1/jobs/{waiting}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    assert r.json()["error"]["code"] == "canceled"
    running = _submit(client)
    claim_one(redis_url)
    r = client.post(f"/v1/jobs/{running}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "running" and r.json()["cancel_requested"] is True
    r = client.post(f"/v1/jobs/{waiting}/cancel")
    assert r.status_code == 409 and error_of(r)["code"] == "invalid_transition"


def test_retry_failed_and_refuse_active(client: TestClient, redis_url: str) -> None:
    job_id = _submit(client)
    r = client.post(f"/v1/jobs/{job_id}/retry")
    assert r.status_code == 409 and "queued" in str(error_of(r)["message"])
    fail_one(redis_url)
    failed = client.get(f"/v1/jobs/{job_id}").json()
    assert failed["status"] == "failed" and failed["error"] == {"code": "boom", "message": "it broke", "details": None}
    r = client.post(f"/v1/jobs/{job_id}/retry")
    assert r.status_code == 200 and r.json()["status"] == "queued" and r.json()["error"] is None


def test_list_filters_pages_and_refuses_bad_cursors(client: TestClient, redis_url: str) -> None:
    ids = [_submit(client, input=i) for i in range(5)]
    sums = [client.post("/v1/jobs", json={"task": "sum", "input": {"values": [i]}}).json()["id"] for i in range(2)]
    work_one(redis_url, "done")  # the oldest echo job
    page = client.get("/v1/jobs", params={"limit": 3}).json()
    assert set(page) == {"items", "next_cursor"}
    rest = client.get("/v1/jobs", params={"limit": 3, "cursor": page["next_cursor"]}).json()
    seen = [j["id"] for j in page["items"] + rest["items"]]
    assert seen == list(reversed(ids + sums))[:6]
    assert [j["id"] for j in client.get("/v1/jobs", params={"task": "sum"}).json()["items"]] == sums[::-1]
    assert [j["id"] for j in client.get("/v1/jobs", params={"queue": "math"}).json()["items"]] == sums[::-1]
    done = client.get("/v1/jobs", params={"status": "succeeded"}).json()["items"]
    assert [j["id"] for j in done] == [ids[0]]
    r = client.get("/v1/jobs", params={"cursor": "garbage"})
    assert r.status_code == 422 and "query.cursor" in str(error_of(r)["details"])
    assert client.get("/v1/jobs", params={"status": "lost"}).status_code == 422
    assert client.get("/v1/jobs", params={"limit": 0}).status_code == 422


def test_unknown_routes_and_methods_are_json_errors(client: TestClient) -> None:
    r = client.get("/v1/nothing")
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    r = client.delete("/v1/jobs")
    assert r.status_code == 405 and error_of(r)["code"] == "method_not_allowed"
    r = client.post("/v1/jobs", content=b"task=echo", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_request"
