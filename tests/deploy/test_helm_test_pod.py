"""The `helm test` pod's script, run as rendered against a real API and worker: it submits a job and
checks its result; it fails when the job fails or never finishes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.deploy.chart import Doc, env_map, one, render_yaml
from tests.support.processes import API_KEY, start_api, start_worker, wait_for_task

pytestmark = pytest.mark.slow


def _test_pod(tmp_path: Path, **tests: object) -> Doc:
    docs = render_yaml({"tests": tests} if tests else {}, tmp_path)
    pod = one(docs, "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    return pod


def _run(pod: Doc, base: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    (container,) = pod["spec"]["containers"]
    command = container["command"]
    assert command[:2] == ["python", "-c"]  # the API image's interpreter, standard library only
    env = {**env_map(container), "STOKER_URL": base, "STOKER_API_KEYS": f"{API_KEY},other-key-0123456789"}
    return subprocess.run(
        [sys.executable, "-I", "-c", command[2]],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_pod_targets_the_api_service_with_the_generated_key(tmp_path: Path) -> None:
    (container,) = _test_pod(tmp_path)["spec"]["containers"]
    assert env_map(container)["STOKER_URL"] == "http://demo-stoker-api:80"
    (key,) = [e for e in container["env"] if e["name"] == "STOKER_API_KEYS"]
    assert key["valueFrom"]["secretKeyRef"] == {"name": "demo-stoker-auth", "key": "api-keys"}


def test_the_test_passes_when_a_worker_runs_the_job(newest_redis_url: str, tmp_path: Path) -> None:
    redis.Redis.from_url(newest_redis_url).flushdb()
    api, base = start_api(newest_redis_url, tmp_path)
    worker = start_worker(newest_redis_url, tmp_path, tasks="stoker_worker.tasks.echo", claim_block_s="0.2")
    try:
        wait_for_task(base, "echo")
        result = _run(_test_pod(tmp_path), base)
        assert result.returncode == 0, result.stdout + result.stderr
        assert 'result {"hello": "stoker"}' in result.stdout
    finally:
        worker.terminate()
        api.terminate()


def test_the_test_fails_when_no_worker_finishes_the_job(newest_redis_url: str, tmp_path: Path) -> None:
    redis.Redis.from_url(newest_redis_url).flushdb()
    api, base = start_api(newest_redis_url, tmp_path)
    publish = subprocess.run(
        [sys.executable, "-m", "stoker_worker", "--publish-catalog", "--tasks", "stoker_worker.tasks.echo"],
        env={"PATH": "/usr/bin:/bin", "REDIS_URL": newest_redis_url},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert publish.returncode == 0
    try:
        result = _run(_test_pod(tmp_path, timeoutSeconds=2), base)
        assert result.returncode != 0
        assert "still queued after the timeout" in result.stderr
    finally:
        api.terminate()
