"""The whole path with real processes: HTTP -> API -> Redis -> worker -> Redis -> HTTP."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import API_KEY, Service, start_api, start_worker, wait_for_task

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(newest_redis_url: str, tmp_path: Path) -> Iterator[tuple[str, Service]]:
    import redis

    redis.Redis.from_url(newest_redis_url).flushdb()
    api, base = start_api(newest_redis_url, tmp_path)
    worker = start_worker(newest_redis_url, tmp_path, concurrency="8")
    wait_for_task(base, "echo")
    yield base, worker
    assert worker.terminate() == 0, worker.log()
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught.
    assert api.terminate() in (0, -signal.SIGTERM), api.log()
    assert "Application shutdown complete" in api.log()


async def test_hundred_jobs_over_http_come_back_correct(stack: tuple[str, Service]) -> None:
    base, worker = stack
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=base, timeout=10, headers=headers) as client:
        answers = await asyncio.gather(
            *(client.post("/v1/jobs", json={"task": "echo", "input": {"n": i, "text": f"job {i}"}}) for i in range(100))
        )
        assert all(a.status_code == 202 for a in answers), [a.text for a in answers if a.status_code != 202]
        ids = [a.json()["id"] for a in answers]
        assert len(set(ids)) == 100

        deadline = time.monotonic() + 60
        results: dict[str, object] = {}
        while len(results) < 100:
            assert time.monotonic() < deadline, f"only {len(results)} results; worker log:\n{worker.log()}"
            for job_id in set(ids) - set(results):
                r = await client.get(f"/v1/jobs/{job_id}/result")
                if r.status_code == 200:
                    results[job_id] = r.json()["output"]
                else:
                    assert r.status_code == 409, r.text
            await asyncio.sleep(0.05)

        assert [results[i] for i in ids] == [{"n": i, "text": f"job {i}"} for i in range(100)]
        job = (await client.get(f"/v1/jobs/{ids[0]}")).json()
        assert job["status"] == "succeeded" and job["worker"] == "worker" and job["task"] == "echo"
        assert job["attempts"] == {"error": 0, "crash": 0, "evicted": 0}
        assert job["timings"]["total_s"] is not None and job["links"]["result"].endswith(f"/v1/jobs/{ids[0]}/result")
