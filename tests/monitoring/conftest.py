"""A live stack for the dashboard tests: Redis, two API replicas, workers and a Prometheus scraping them.

The fixture makes every kind of event the dashboards show happen once: successes, errors with a retry,
dead-lettered jobs, a batch, a class task's setup(), a paused queue with a waiting job, a scheduled job,
a worker killed mid-job and reaped by another, a webhook delivery, 4xx answers, and 5xx answers from an
API replica that cannot reach Redis.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from stoker_queue import TERMINAL
from tests.support.processes import API_KEY, Service, start_api, start_worker, wait_for_task
from tests.support.prometheus import Prometheus, prometheus_server
from tests.support.redis_server import free_port

RULES = Path(__file__).resolve().parents[2] / "monitoring" / "rules" / "stoker.rules.yaml"
TASKS = "tests.worker.sample_tasks"
ADMIN_KEY = "monitoring-admin-0123456789"
ENDED = {status.value for status in TERMINAL}


@dataclass(frozen=True)
class LiveStack:
    prometheus: Prometheus
    api: str  # base URL of the API replica that reaches Redis
    worker_metrics: list[str]  # /metrics URLs of the running workers


class HookReceiver:
    """A loopback HTTP server that answers 204 to every POST and counts them."""

    def __init__(self) -> None:
        self.count = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.count += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Client:
    """The public API as a client uses it."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10)

    def submit(self, task: str, payload: object, **options: object) -> str:
        answer = self.http.post("/v1/jobs", json={"task": task, "input": payload, **options})
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])

    def status(self, job_id: str) -> str:
        return str(self.http.get(f"/v1/jobs/{job_id}").json()["status"])

    def wait_until(self, job_ids: list[str], statuses: set[str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while pending := [j for j in job_ids if self.status(j) not in statuses]:
            assert time.monotonic() < deadline, f"jobs never reached {statuses}: {pending}"
            time.sleep(0.05)


def _until(predicate: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _crash_a_worker(client: Client, base: str, redis_url: str, tmp: Path) -> str:
    """A worker with a 1 s lease dies mid-job; the job is left for another worker's reaper."""
    doomed = start_worker(redis_url, tmp, name="doomed", tasks=TASKS, queues="crash", lease_s="1")
    try:
        wait_for_task(base, "sleep")
        job_id = client.submit("sleep", 1.0, queue="crash")
        client.wait_until([job_id], {"running"})
        time.sleep(0.3)  # claimed in Redis; let the handler start before the kill
    finally:
        doomed.proc.send_signal(signal.SIGKILL)
        doomed.terminate()
    return job_id


def _make_everything_happen(client: Client, cut_off_api: str, hook: HookReceiver) -> list[str]:
    """Jobs of every kind; returns the ids that must end before the metrics are read."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert client.http.post("/v1/queues/held/pause", headers=admin).status_code == 200
    client.submit("sum", {"values": [1, 2]}, queue="held", priority="high")  # waits: paused
    client.submit("sum", {"values": [1]}, delay_s=3600)  # scheduled
    ended = [client.submit("sum", {"values": [i, 1]}) for i in range(3)]
    ended.append(client.submit("sum", {"values": [5]}, webhook={"url": hook.url}))
    ended.append(client.submit("explode", {"why": "once"}, max_attempts=1))  # fails, dead-lettered
    ended.append(client.submit("explode", {"why": "twice"}, max_attempts=2))  # an error, a retry, then dead
    ended += [client.submit("square", i) for i in range(4)]  # one batch of four
    ended += [client.submit("model", i) for i in range(2)]  # the class task's setup() runs once
    assert client.http.get("/v1/jobs/default.01KAQ2Y6J8X6V7NQ3B9Z1T4M5C").status_code == 404
    assert httpx.get(f"{cut_off_api}/readyz", timeout=10).status_code == 503
    return ended


def _cut_off_api(tmp: Path, port: int) -> Service:
    """An API replica whose Redis is gone: it serves /metrics with stoker_redis_up 0 and answers 503."""
    env = {
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
        "API_API_KEYS": API_KEY,
    }
    return Service([sys.executable, "-m", "stoker_api"], env, tmp / "api-cut-off.log")


@pytest.fixture(scope="module")
def live_stack(newest_redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    tmp = tmp_path_factory.mktemp("live")
    redis.Redis.from_url(newest_redis_url).flushdb()
    cut_off_port, worker_ports = free_port(), [free_port(), free_port()]
    cut_off_base = f"http://127.0.0.1:{cut_off_port}"
    with ExitStack() as stack:  # unwinds in reverse: workers first, Redis-facing API last
        hook = HookReceiver()
        stack.callback(hook.close)
        api, base = start_api(newest_redis_url, tmp, env={"API_ADMIN_KEYS": ADMIN_KEY})
        stack.callback(api.terminate)
        stack.callback(_cut_off_api(tmp, cut_off_port).terminate)
        client = Client(base)
        stack.callback(client.http.close)
        targets = [base.removeprefix("http://"), cut_off_base.removeprefix("http://")]
        targets += [f"127.0.0.1:{p}" for p in worker_ports]
        prometheus = stack.enter_context(prometheus_server(targets, rule_files=[RULES]))

        crashed = _crash_a_worker(client, base, newest_redis_url, tmp)
        # w1 serves the dead worker's queue, so its reaper requeues the job and counts the crash.
        for name, queues, port in (
            ("w1", "default,batch,crash", worker_ports[0]),
            ("w2", "default,model,held", worker_ports[1]),  # held stays paused: its job waits
        ):
            stack.callback(_worker(newest_redis_url, tmp, name, queues, port).terminate)
        for task in ("sum", "explode", "square", "model"):
            wait_for_task(base, task)
        wait_for_task(base, "sum", queue="held")
        _until(lambda: _answers(f"{cut_off_base}/healthz"), "the cut-off API replica")
        ended = _make_everything_happen(client, cut_off_base, hook)
        client.wait_until([*ended, crashed], ENDED)
        _until(lambda: hook.count > 0, "the webhook delivery")
        # Every target up, and scraped twice after the last event so that rate() sees it.
        done = time.time()
        prometheus.wait_for(f"count(up == 1) == {len(targets)}")
        prometheus.wait_for(f"min(timestamp(up)) > {done + 2}")
        yield LiveStack(prometheus, base, [f"http://127.0.0.1:{p}/metrics" for p in worker_ports])


def _worker(redis_url: str, tmp: Path, name: str, queues: str, port: int) -> Service:
    return start_worker(
        redis_url,
        tmp,
        name=name,
        tasks=TASKS,
        queues=queues,
        health_host="127.0.0.1",
        health_port=str(port),
        reap_interval_s="0.2",
        retry_backoff_s="0.1",
        webhook_allow_private="true",
    )


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False
