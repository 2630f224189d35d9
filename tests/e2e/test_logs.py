"""Both entry points as real processes: JSON lines a log shipper can read, no secrets, clean config errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from stoker_queue import JobStatus
from tests.support.processes import API_KEY, start_api, start_worker, wait_for_task
from tests.support.redis_server import find_binaries, free_port
from tests.support.work import read_job, submit

pytestmark = pytest.mark.slow
PASSWORD = "SuperSecretPassw0rd"
WEBHOOK_SECRET = "whsec-do-not-log-me-0123456789"
MODULES = {"stoker-api": "stoker_api", "stoker-worker": "stoker_worker"}


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Processes started by the test log JSON at DEBUG (``Service`` passes the environment on)."""
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("LOG_LEVEL", "debug")


@pytest.fixture
def password_redis_url() -> Iterator[str]:
    """A redis-server that requires ``PASSWORD``; its URL carries the password."""
    binary = next(iter(find_binaries().values()), None)
    if binary is None:
        pytest.skip("no redis-server binary on this machine")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="stoker-redis-") as workdir:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--requirepass", PASSWORD, "--save", ""]
        proc = subprocess.Popen([*args, "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis(port=port, password=PASSWORD, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)
        client.close()
        try:
            yield f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


def _json_lines(output: str) -> list[dict[str, object]]:
    lines = output.splitlines()
    assert lines, "no output"
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}\n{output}")
    return parsed


def _run(service: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "WORKER_", "REDIS_", "LOG_"))}
    command = [sys.executable, "-m", MODULES[service], *args]
    return subprocess.run(command, env={**clean, **env}, capture_output=True, text=True, timeout=30, check=False)


def test_api_logs_json_lines_without_keys(json_logs: None, newest_redis_url: str, tmp_path: Path) -> None:
    redis.Redis.from_url(newest_redis_url).flushdb()
    api, base = start_api(newest_redis_url, tmp_path)
    worker = start_worker(newest_redis_url, tmp_path)
    try:
        wait_for_task(base, "echo")
        job = {"task": "echo", "input": {"hello": "world"}}
        accepted = httpx.post(f"{base}/v1/jobs", json=job, headers={"Authorization": f"Bearer {API_KEY}"})
        assert accepted.status_code == 202, accepted.text
        refused = httpx.post(f"{base}/v1/jobs", json=job, headers={"Authorization": "Bearer not-a-key-0123456789"})
        assert refused.status_code == 401
    finally:
        assert worker.terminate() == 0, worker.log()
        assert api.terminate() in (0, -signal.SIGTERM), api.log()
    output = api.log()
    lines = _json_lines(output)
    assert {line["service"] for line in lines} == {"stoker-api"}
    messages = {(line["logger"], line["message"]) for line in lines}
    assert any(logger == "uvicorn.error" and "Uvicorn running on" in str(m) for logger, m in messages)
    access = [str(m) for logger, m in messages if logger == "uvicorn.access"]
    assert any('"POST /v1/jobs HTTP/1.1" 202' in m for m in access), access
    assert any('"POST /v1/jobs HTTP/1.1" 401' in m for m in access), access
    assert API_KEY not in output and "not-a-key" not in output


def test_worker_logs_json_lines_without_secrets(json_logs: None, password_redis_url: str, tmp_path: Path) -> None:
    worker = start_worker(password_redis_url, tmp_path, webhook_secret=WEBHOOK_SECRET)
    try:
        job_id = submit(password_redis_url, "echo", {"hello": "world"})
        deadline = time.monotonic() + 30
        while read_job(password_redis_url, job_id).status is not JobStatus.SUCCEEDED:
            assert time.monotonic() < deadline, worker.log()
            time.sleep(0.05)
    finally:
        assert worker.terminate() == 0, worker.log()
    output = worker.log()
    lines = _json_lines(output)
    assert {line["service"] for line in lines} == {"stoker-worker"}
    assert any(line["level"] == "DEBUG" for line in lines)
    job_lines = [line for line in lines if line.get("job_id") == job_id]
    assert job_lines and all(line["queue"] == "default" and line["task"] == "echo" for line in job_lines), output
    assert PASSWORD not in output and WEBHOOK_SECRET not in output


@pytest.mark.parametrize("service", MODULES)
def test_a_bad_log_format_is_one_line_and_exit_2(service: str) -> None:
    done = _run(service, {"LOG_FORMAT": "xml", "API_API_KEYS": API_KEY})
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"{service}: invalid settings: LOG_FORMAT: must be 'text' or 'json'"]
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("service", "env", "fields", "secrets"),
    [
        ("stoker-api", {"API_API_KEYS": API_KEY, "API_SUBMIT_RATE": "fast"}, ["API_SUBMIT_RATE"], [API_KEY]),
        ("stoker-api", {"API_API_KEYS": "short-secret"}, ["API keys must be at least 16"], ["short-secret"]),
        (
            "stoker-api",
            {"API_API_KEYS": API_KEY, "API_SUBMIT_RATE": "fast", "API_PORT": "0"},
            ["API_PORT", "API_SUBMIT_RATE"],
            [API_KEY],
        ),
        (
            "stoker-worker",
            {
                "REDIS_URL": f"redis://:{PASSWORD}@127.0.0.1:1/0",
                "WORKER_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "WORKER_CONCURRENCY": "0",
                "WORKER_LEASE_S": "soon",
            },
            ["WORKER_CONCURRENCY", "WORKER_LEASE_S"],
            [PASSWORD, WEBHOOK_SECRET],
        ),
    ],
    ids=["api-rate", "api-short-key", "api-two-fields", "worker-two-fields"],
)
def test_bad_settings_name_each_field_never_the_value(
    service: str, env: dict[str, str], fields: list[str], secrets: list[str]
) -> None:
    done = _run(service, {"LOG_FORMAT": "json", **env})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == len(fields), done.stderr
    for line, field in zip(lines, fields, strict=True):
        assert line.startswith(f"{service}: invalid settings: {field}"), done.stderr
    assert "Traceback" not in done.stderr and "input_value" not in done.stderr
    assert not any(secret in done.stderr + done.stdout for secret in secrets)


@pytest.mark.parametrize("service", MODULES)
def test_help_exits_0(service: str) -> None:
    done = _run(service, {"LOG_FORMAT": "xml"}, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {service}")


@pytest.mark.parametrize("service", MODULES)
def test_an_exporter_that_is_not_installed_is_one_line_and_exit_2(service: str) -> None:
    env = {
        "API_API_KEYS": API_KEY,
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
    }
    done = _run(service, env)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"{service}: invalid settings: ") and "grpc" in line
