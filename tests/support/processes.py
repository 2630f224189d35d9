"""Real service processes for end-to-end tests: the API under uvicorn and workers, on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.redis_server import free_port


class Service:
    """A child process with its output captured in a log file, stopped with SIGTERM."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "WORKER_", "REDIS_"))}
        self.proc = subprocess.Popen(
            args, env={**full_env, "PYTHONUNBUFFERED": "1", **env}, stdout=self._log, stderr=subprocess.STDOUT
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout: float = 30) -> int:
        """The exit code of a process that ends by itself."""
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def terminate(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._log.close()


API_KEY = "e2e-key-0123456789abcdef"


def start_api(redis_url: str, tmp: Path, *, env: dict[str, str] | None = None) -> tuple[Service, str]:
    """The API under uvicorn, accepting ``API_KEY``; ``env`` adds variables (``OTEL_*``, say)."""
    port = free_port()
    api = Service(
        [sys.executable, "-m", "stoker_api"],
        {
            "REDIS_URL": redis_url,
            "API_PORT": str(port),
            "API_HOST": "127.0.0.1",
            "API_API_KEYS": API_KEY,
            **(env or {}),
        },
        tmp / "api.log",
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if api.proc.poll() is not None:
            raise RuntimeError(f"API exited:\n{api.log()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return api, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            api.terminate()
            raise TimeoutError(f"API not ready:\n{api.log()}")
        time.sleep(0.05)


def wait_for_task(base: str, task: str, timeout: float = 30, *, queue: str | None = None) -> None:
    """Block until a worker has published ``task`` to the catalog (served on ``queue``, if given)."""
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {API_KEY}"}

    def published() -> bool:
        tasks = httpx.get(f"{base}/v1/tasks", headers=headers).json()["items"]
        return any(t["name"] == task and (queue is None or queue in t["queues"]) for t in tasks)

    while not published():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no worker published {task!r}" + (f" on queue {queue!r}" if queue else ""))
        time.sleep(0.05)


def start_worker(
    redis_url: str, tmp: Path, name: str = "worker", *, env: dict[str, str] | None = None, **settings: str
) -> Service:
    """A worker process; ``settings`` become ``WORKER_*`` variables, ``env`` adds others as they are."""
    full = {"REDIS_URL": redis_url, "WORKER_WORKER_ID": name, "WORKER_HEALTH_PORT": "0", **(env or {})}
    full |= {f"WORKER_{k.upper()}": v for k, v in settings.items()}
    return Service([sys.executable, "-m", "stoker_worker"], full, tmp / f"{name}.log")
