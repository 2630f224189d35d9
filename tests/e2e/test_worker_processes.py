"""Workers as real processes: SIGTERM drains, SIGKILL loses nothing, the side server answers."""

from __future__ import annotations

import re
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from stoker_queue import JobStatus
from tests.support.processes import Service, start_worker
from tests.support.redis_server import free_port
from tests.support.work import read_job, submit

pytestmark = pytest.mark.slow
TASKS = "tests.worker.sample_tasks,stoker_worker.tasks.echo"


@pytest.fixture
def redis_url(newest_redis_url: str) -> str:
    redis.Redis.from_url(newest_redis_url).flushdb()
    return newest_redis_url


def _until(predicate: object, timeout: float, what: str, worker: Service | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{worker.log() if worker else ''}"
        time.sleep(0.05)


def test_sigterm_finishes_short_jobs_hands_back_long_ones_and_exits_zero(redis_url: str, tmp_path: Path) -> None:
    worker = start_worker(redis_url, tmp_path, tasks=TASKS, concurrency="2", drain_s="1.5", health_port="0")
    short = submit(redis_url, "sleep", 0.5)
    long = submit(redis_url, "sleep", 60.0)
    _until(
        lambda: (
            read_job(redis_url, long).status is JobStatus.RUNNING
            and read_job(redis_url, short).status is JobStatus.RUNNING
        ),
        30,
        "both jobs to start",
        worker,
    )
    time.sleep(0.3)  # claimed in Redis; let the worker hand them to their handlers before the signal
    started = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.terminate(timeout=20) == 0, worker.log()
    assert time.monotonic() - started < 10  # the drain budget, not the 60 s job
    assert read_job(redis_url, short).status is JobStatus.SUCCEEDED
    handed_back = read_job(redis_url, long)
    assert handed_back.status is JobStatus.QUEUED
    assert handed_back.attempts.evicted == 1 and handed_back.attempts.crash == 0


def test_after_sigkill_another_worker_runs_the_job_once_the_lease_expires(redis_url: str, tmp_path: Path) -> None:
    doomed = start_worker(redis_url, tmp_path, name="doomed", tasks=TASKS, lease_s="1", health_port="0")
    job_id = submit(redis_url, "sleep", 3.0)
    _until(lambda: read_job(redis_url, job_id).status is JobStatus.RUNNING, 30, "the claim", doomed)
    doomed.proc.send_signal(signal.SIGKILL)
    assert doomed.terminate() == -signal.SIGKILL
    rescuer = start_worker(redis_url, tmp_path, name="rescuer", tasks=TASKS, reap_interval_s="0.2", health_port="0")
    try:
        _until(lambda: read_job(redis_url, job_id).status is JobStatus.SUCCEEDED, 30, "the rescue", rescuer)
        done = read_job(redis_url, job_id)
        assert done.worker == "rescuer" and done.attempts.crash == 1
    finally:
        assert rescuer.terminate() == 0, rescuer.log()


def test_side_server_reports_liveness_readiness_and_metrics(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    worker = start_worker(redis_url, tmp_path, tasks=TASKS, health_port=str(port), health_host="127.0.0.1")
    base = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _get(f"{base}/readyz") == 200, 30, "readiness", worker)
        assert _get(f"{base}/healthz") == 200
        job_id = submit(redis_url, "echo", {"x": 1})
        _until(lambda: read_job(redis_url, job_id).status is JobStatus.SUCCEEDED, 30, "the job", worker)
        metrics = httpx.get(f"{base}/metrics").text
        assert 'stoker_jobs_finished_total{outcome="succeeded",queue="default",task="echo"} 1.0' in metrics
        assert 'stoker_job_wait_seconds_count{queue="default",task="echo"} 1.0' in metrics
        assert 'stoker_worker_batch_size_count{task="echo"} 1.0' in metrics
        assert _get(f"{base}/nothing") == 404
    finally:
        assert worker.terminate() == 0, worker.log()


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.TransportError:
        return 0


def test_a_redis_restart_loses_no_job_and_no_worker(tmp_path: Path) -> None:
    from tests.support.redis_server import RedisProcess, find_binaries

    binaries = find_binaries()
    server = RedisProcess(binaries[max(binaries)])
    server.start()
    worker = start_worker(server.url, tmp_path, tasks=TASKS, lease_s="2", reap_interval_s="0.5", concurrency="2")
    try:
        ids = [submit(server.url, "sleep", 0.2) for _ in range(12)]
        _until(lambda: read_job(server.url, ids[2]).status is JobStatus.SUCCEEDED, 30, "some progress", worker)
        redis.Redis.from_url(server.url).shutdown(save=True)  # a restart that keeps its data
        server.stop()
        time.sleep(2)
        server.start()
        _until(
            lambda: all(read_job(server.url, i).status is JobStatus.SUCCEEDED for i in ids),
            60,
            "every job after the restart",
            worker,
        )
        assert worker.proc.poll() is None, worker.log()  # no crash loop
        assert "redis unreachable" in worker.log()  # it noticed, backed off and came back
    finally:
        code = worker.terminate()
        server.close()
    assert code == 0, worker.log()


def test_bad_settings_and_a_taken_port_exit_2_with_a_message(redis_url: str, tmp_path: Path) -> None:
    import socket

    bad = start_worker(redis_url, tmp_path, name="bad", queues="Not A Queue")
    assert bad.wait() == 2 and "invalid settings" in bad.log()
    missing = start_worker(redis_url, tmp_path, name="missing", tasks="no.such.module")
    assert missing.wait() == 2 and "cannot load tasks" in missing.log()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = start_worker(redis_url, tmp_path, name="busy", health_port=str(port), health_host="127.0.0.1")
        assert busy.wait() == 2 and "cannot start" in busy.log()


def test_a_second_worker_on_one_machine_takes_a_free_health_port(redis_url: str, tmp_path: Path) -> None:
    """The default port (8081) taken and WORKER_HEALTH_PORT not set: the worker serves health on a free
    port and says which, instead of exiting."""
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            holder.bind(("0.0.0.0", 8081))
            holder.listen()
        except OSError:
            pass  # something here holds 8081 already: the same situation
        env = {"REDIS_URL": redis_url, "WORKER_WORKER_ID": "second", "WORKER_TASKS": "stoker_worker.tasks.echo"}
        worker = Service([sys.executable, "-m", "stoker_worker"], env, tmp_path / "second.log")
        try:
            _until(lambda: "serving health on" in worker.log(), 30, "the fallback port", worker)
            port = int(re.search(r"serving health on (\d+)", worker.log()).group(1))  # type: ignore[union-attr]
            assert port != 8081
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            assert answer.status_code in (200, 503), answer.text  # served there, whatever Redis says
        finally:
            assert worker.terminate() == 0, worker.log()
