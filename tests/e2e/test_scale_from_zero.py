"""A pool scaled to zero: the published catalog lets the API accept its jobs, and a burst worker drains them."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from stoker_queue import JobStatus
from tests.support.processes import API_KEY, start_api, start_worker
from tests.support.work import claim_one, read_job, submit

pytestmark = pytest.mark.slow
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def test_publish_the_catalog_then_submit_with_no_worker_then_burst(newest_redis_url: str, tmp_path: Path) -> None:
    redis.Redis.from_url(newest_redis_url).flushdb()
    api, base = start_api(newest_redis_url, tmp_path)
    try:
        job = {"task": "sum", "input": {"values": [1, 2]}}
        assert httpx.post(f"{base}/v1/jobs", json=job, headers=AUTH).status_code == 404  # nobody published it
        publish = subprocess.run(
            [sys.executable, "-m", "stoker_worker", "--publish-catalog", "--tasks", "tests.worker.sample_tasks"],
            env={"PATH": "/usr/bin:/bin", "REDIS_URL": newest_redis_url},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert publish.returncode == 0, publish.stderr
        accepted = httpx.post(f"{base}/v1/jobs?wait=0", json=job, headers=AUTH)
        assert accepted.status_code == 202, accepted.text  # no worker runs, and the job is taken
        job_id = accepted.json()["id"]
        assert read_job(newest_redis_url, job_id).status is JobStatus.QUEUED
        worker = start_worker(
            newest_redis_url, tmp_path, tasks="tests.worker.sample_tasks", burst="true", claim_block_s="0.2"
        )
        assert worker.wait(timeout=60) == 0, worker.log()
        assert read_job(newest_redis_url, job_id).status is JobStatus.SUCCEEDED
    finally:
        api.terminate()


def test_with_no_worker_the_api_promotes_due_jobs_and_returns_dead_leases(
    newest_redis_url: str, tmp_path: Path
) -> None:
    redis.Redis.from_url(newest_redis_url).flushdb()
    abandoned = submit(newest_redis_url, "sum", {"values": [1]})
    assert claim_one(newest_redis_url, lease_s=0.3) == abandoned  # a worker that claimed, then died
    api, _ = start_api(newest_redis_url, tmp_path, env={"API_REAP_INTERVAL_S": "0.2"})
    try:
        delayed = submit(newest_redis_url, "sum", {"values": [2]}, delay_s=0.5)
        assert read_job(newest_redis_url, delayed).status is JobStatus.SCHEDULED
        deadline = time.monotonic() + 10
        while {read_job(newest_redis_url, j).status for j in (delayed, abandoned)} != {JobStatus.QUEUED}:
            assert time.monotonic() < deadline, api.log()
            time.sleep(0.05)
        # Both now wait in a list KEDA counts, so the scaled-to-zero pool wakes.
        assert read_job(newest_redis_url, abandoned).attempts.crash == 1
    finally:
        api.terminate()
