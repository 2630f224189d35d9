"""The metric contract on running processes: the API and workers after real jobs, a real SIGKILL
counted as a crash once, and `promtool check metrics` clean on both /metrics."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from stoker_queue import JobStatus
from tests.support.processes import API_KEY, Service, start_api, start_worker, wait_for_task
from tests.support.prometheus import require_tool
from tests.support.redis_server import free_port
from tests.support.work import read_job

pytestmark = pytest.mark.slow
TASKS = "tests.worker.sample_tasks,stoker_worker.tasks.echo"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def _until(predicate: object, timeout: float, what: str, *services: Service) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        logs = "\n".join(s.log() for s in services)
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{logs}"
        time.sleep(0.05)


def _samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(url, timeout=5).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _lint(url: str) -> str:
    promtool = require_tool("promtool")
    body = httpx.get(url, timeout=5).text
    result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=30)
    return (result.stdout + result.stderr).strip() if result.returncode else ""


def _submit(base: str, task: str, payload: object, **extra: object) -> str:
    response = httpx.post(f"{base}/v1/jobs", json={"task": task, "input": payload, **extra}, headers=AUTH, timeout=5)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def test_contract_metrics_after_jobs_and_a_real_sigkill(newest_redis_url: str, tmp_path: Path) -> None:
    redis.Redis.from_url(newest_redis_url).flushdb()
    api, base = start_api(newest_redis_url, tmp_path)
    doomed_port, rescuer_port = free_port(), free_port()
    doomed = start_worker(
        newest_redis_url, tmp_path, name="doomed", tasks=TASKS, lease_s="1", health_port=str(doomed_port)
    )
    rescuer: Service | None = None
    try:
        wait_for_task(base, "sleep")
        ok, bad = _submit(base, "sum", {"values": [1, 2]}), _submit(base, "explode", {"a": "b"}, max_attempts=1)
        _until(lambda: read_job(newest_redis_url, bad).status is JobStatus.FAILED, 30, "the failure", doomed)
        victim = _submit(base, "sleep", 3.0)
        _until(lambda: read_job(newest_redis_url, victim).status is JobStatus.RUNNING, 30, "the claim", doomed)
        doomed_metrics = _samples(f"http://127.0.0.1:{doomed_port}/metrics")
        assert _lint(f"http://127.0.0.1:{doomed_port}/metrics") == ""
        doomed.proc.send_signal(signal.SIGKILL)
        assert doomed.terminate() == -signal.SIGKILL
        rescuer = start_worker(
            newest_redis_url,
            tmp_path,
            name="rescuer",
            tasks=TASKS,
            reap_interval_s="0.2",
            health_port=str(rescuer_port),
        )
        _until(lambda: read_job(newest_redis_url, victim).status is JobStatus.SUCCEEDED, 30, "the rescue", rescuer)
        worker_url = f"http://127.0.0.1:{rescuer_port}/metrics"
        worker = _samples(worker_url)
        api_metrics = _samples(f"{base}/metrics")
        api_lint = _lint(f"{base}/metrics")
        worker_lint = _lint(worker_url)
    finally:
        if rescuer is not None:
            assert rescuer.terminate() == 0, rescuer.log()
        api.terminate()

    def got(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
        return samples.get((name, frozenset(labels.items())), 0.0)

    assert read_job(newest_redis_url, ok).status is JobStatus.SUCCEEDED
    assert got(doomed_metrics, "stoker_jobs_finished_total", queue="default", task="sum", outcome="succeeded") == 1
    assert got(doomed_metrics, "stoker_attempts_total", queue="default", task="explode", cause="error") == 1
    assert got(doomed_metrics, "stoker_worker_busy_slots", queue="default") == 1  # the victim, when killed
    # The rescuer's reaper took the job back: it alone counts the crash, then runs the job.
    assert got(worker, "stoker_attempts_total", queue="default", task="sleep", cause="crash") == 1
    assert got(worker, "stoker_jobs_finished_total", queue="default", task="sleep", outcome="succeeded") == 1
    assert got(api_metrics, "stoker_jobs_submitted_total", queue="default", task="sleep") == 1
    assert got(api_metrics, "stoker_queue_jobs", queue="default", state="dead") == 1
    assert got(api_metrics, "stoker_redis_up") == 1
    requests = [k for k in api_metrics if k[0] == "stoker_http_request_duration_seconds_count"]
    assert any(dict(labels) == {"method": "POST", "route": "/v1/jobs", "status": "202"} for _, labels in requests)
    assert (api_lint, worker_lint) == ("", "")
