"""The processes of a chaos run: a Redis with an append-only file, the API, and workers to kill.

Every process is real and on loopback. A worker is killed the way a node loses it: frozen
(SIGSTOP) so it claims nothing more, its holdings read from the queue, then SIGKILLed; the kill
log says which jobs it held, so a rerun or a ``crash`` charge can be told justified or not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import redis

from tests.chaos import store
from tests.chaos.api import ADMIN_KEY, USER_KEY, Api
from tests.chaos.tasks import QUEUE
from tests.support.processes import Service, start_api, start_worker
from tests.support.redis_server import find_binaries, free_port

TASKS_A = "tests.chaos.tasks"
TASKS_AB = "tests.chaos.tasks,tests.chaos.tasks_b"


class ChaosRedis:
    """redis-server with AOF (``appendfsync everysec``) on a fixed port: stop, start, freeze and thaw it."""

    def __init__(self, workdir: Path) -> None:
        binaries = find_binaries()
        if not binaries:
            raise LookupError("no redis-server on this machine")
        self.binary = binaries[max(binaries)]
        self.port = free_port()
        self.dir = workdir / "redis"
        self.dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", ""]
        args += ["--appendonly", "yes", "--appendfsync", "everysec", "--loglevel", "warning"]
        with (self.dir / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen([self.binary, *args], stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            try:
                client.ping()  # answers only once the append-only file is loaded
                break
            except (redis.ConnectionError, redis.BusyLoadingError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        """SIGTERM: Redis flushes its append-only file and exits; a restart has every acknowledged write."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
            self.proc = None

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.proc is not None:
            self.thaw()
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@dataclass(frozen=True)
class Kill:
    pid: int
    at: float  # unix time of the SIGKILL
    held: frozenset[str]  # the jobs the worker held when it was killed


@dataclass
class Worker:
    name: str
    service: Service
    health_port: int | None = None
    started: float = field(default_factory=time.time)

    @property
    def pid(self) -> int:
        return self.service.proc.pid

    def alive(self) -> bool:
        return self.service.proc.poll() is None

    def serving(self) -> bool:
        """Set up and claiming (its log says so)."""
        return self.alive() and " serving " in self.service.log()


class Stack:
    """Redis, the API and the workers of one scenario, in a temporary directory; closed as a context."""

    def __init__(self, name: str, *, api_env: dict[str, str] | None = None) -> None:
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"stoker-chaos-{name}-"))
        self.ledger = self.dir / "ledger.log"
        self.ledger.touch()
        self.redis = ChaosRedis(self.dir)
        self.workers: list[Worker] = []
        self.retired: list[Worker] = []
        self.kills: list[Kill] = []
        self.exit_codes: dict[str, int] = {}
        self._serial = 0
        self._api_env = {
            "API_ADMIN_KEYS": ADMIN_KEY,
            "API_API_KEYS": USER_KEY,
            "API_SUBMIT_RATE": "100000/s",
            "API_SUBMIT_BURST": "100000",
            **(api_env or {}),
        }
        self.api: Api | None = None
        self._api_service: Service | None = None

    def __enter__(self) -> Stack:
        try:
            self.redis.start()
            service, base = start_api(self.redis.url, self.dir, env=self._api_env)
            self._api_service, self.api = service, Api(base)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def spawn(
        self, tasks: str = TASKS_A, common: Mapping[str, str] | None = None, *, health: bool = False, **more: str
    ) -> Worker:
        """A worker of ``tasks`` on the chaos queue; ``common`` and ``more`` become its ``WORKER_*`` variables."""
        self._serial += 1
        name = f"{self.name}-w{self._serial}"
        settings = {"queues": QUEUE, **(common or {}), **more}
        port = free_port() if health else None
        if port is not None:
            settings |= {"health_port": str(port), "health_host": "127.0.0.1"}
        service = start_worker(
            self.redis.url,
            self.dir,
            name,
            env={"CHAOS_LEDGER": str(self.ledger)},
            tasks=tasks,
            **settings,
        )
        worker = Worker(name, service, port)
        self.workers.append(worker)
        return worker

    def kill(self, worker: Worker) -> Kill:
        """Freeze ``worker``, note what it holds, SIGKILL it."""
        worker.service.proc.send_signal(signal.SIGSTOP)
        time.sleep(0.05)  # a command it sent just before the stop reaches Redis before the read below
        try:
            held = store.held_by(self.redis.url, QUEUE, worker.name)
        finally:
            worker.service.proc.send_signal(signal.SIGKILL)
        kill = Kill(worker.pid, time.time(), frozenset(held))
        self.exit_codes[worker.name] = worker.service.terminate()
        self._retire(worker)
        self.kills.append(kill)
        return kill

    def terminate(self, worker: Worker, timeout: float = 60) -> int:
        """SIGTERM, as a scale-in or a rollout sends it; waits for the exit code."""
        code = worker.service.terminate(timeout)
        self.exit_codes[worker.name] = code
        self._retire(worker)
        return code

    def _retire(self, worker: Worker) -> None:
        with contextlib.suppress(ValueError):
            self.workers.remove(worker)
        self.retired.append(worker)

    def wait_serving(self, workers: list[Worker], timeout: float = 60) -> None:
        """Until every one of ``workers`` has set up and claims."""
        deadline = time.monotonic() + timeout
        while not all(w.serving() for w in workers):
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers did not start serving:\n{self.logs()}")
            time.sleep(0.1)

    def wait_settled(self, timeout: float, *, every: float = 0.25) -> bool:
        """Until the chaos queue has nothing waiting, scheduled or running; False on timeout."""
        deadline = time.monotonic() + timeout
        while store.active(self.redis.url, QUEUE) != 0:
            if time.monotonic() >= deadline:
                return False
            time.sleep(every)
        return True

    def logs(self) -> str:
        """The tail of every process log, for a failure message."""
        parts = []
        for path in sorted(self.dir.glob("*.log")):
            if path.name != self.ledger.name:
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def close(self) -> None:
        for worker in list(self.workers):
            with contextlib.suppress(Exception):
                self.terminate(worker, timeout=15)
        if self.api is not None:
            self.api.close()
        if self._api_service is not None:
            self._api_service.terminate(timeout=15)
        self.redis.close()
        if os.environ.get("CHAOS_KEEP"):  # the logs and the ledger stay, for a look after a failure
            print(f"chaos: {self.name} kept in {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
