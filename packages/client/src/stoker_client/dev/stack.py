"""``stoker dev``: Redis, the API and the chart's worker pools on this machine, autoscaled like KEDA.

Start-up follows a cluster's order: Redis, then the API (ready on ``/readyz``), then each pool's
catalog published as the chart's catalog Job does (so a pool at zero still has its tasks accepted),
then each pool's first workers; the stack is announced only once all of those are ready. Then every
pool is polled on its ``pollingInterval`` and scaled on waiting + in-flight jobs over its queues.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from stoker_client import Client, RetryPolicy, StokerError
from stoker_client.dev.pool import Pool
from stoker_client.dev.processes import Child, StartError, port_free, python_module, start_redis
from stoker_client.dev.values import PoolSpec
from stoker_client.models import QueueInfo, WorkerInfo

API_READY_S = 60.0
CATALOG_S = 180.0
WORKER_READY_S = 600.0  # a worker is ready once every task's setup() ran: model loads included
STOP_S = 20.0  # the API and Redis
DRAIN_MARGIN_S = 5.0
TICK_S = 0.25
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(slots=True)
class Options:
    pools: list[PoolSpec]
    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str | None = None
    live_table: bool = False


@dataclass(slots=True)
class Snapshot:
    """What the last poll read through the API, for the live table."""

    queues: list[QueueInfo] = field(default_factory=list)
    workers: list[WorkerInfo] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    error: str | None = None


class DevStack:
    """Runs until Ctrl-C (or SIGTERM), then stops workers (they drain), the API and Redis."""

    def __init__(self, options: Options, say: Callable[[str], None]) -> None:
        self.options = options
        self.say = say
        self.base_url = f"http://{options.host}:{options.port}"
        self.redis_url = options.redis_url or ""
        self.snapshot = Snapshot()
        self.decisions: list[tuple[float, str]] = []
        self.data_dir = Path(tempfile.mkdtemp(prefix="stoker-dev-"))
        self.logs = self.data_dir / "logs" if options.live_table else None
        self.pools: list[Pool] = []
        self._redis: Child | None = None
        self._api: Child | None = None

    def start(self) -> None:
        """Everything up and ready; raises StartError with one line for the user."""
        if self.logs is not None:
            self.logs.mkdir(parents=True)
        if not self.redis_url:
            self._redis, self.redis_url = start_redis(self.data_dir)
            self.say(f"redis-server on {self.redis_url}")
        if not port_free(self.options.port):
            raise StartError(f"port {self.options.port} is taken; set API_PORT to another")
        self._api = Child.start(
            "the API",
            python_module("stoker_api"),
            self._api_env(),
            ready_url=f"{self.base_url}/readyz",
            log=self._log("api"),
        )
        self._api.wait_ready(API_READY_S)
        self._publish_catalogs()
        env = {"REDIS_URL": self.redis_url}
        self.pools = [Pool(spec, env, self.logs, self._decided) for spec in self.options.pools]
        for pool in self.pools:
            pool.start_initial()
        for pool in self.pools:
            pool.wait_ready(WORKER_READY_S)
        with Client(self.base_url) as client:
            self.snapshot.tasks = sorted(t["name"] for t in client.tasks())

    def run(self, on_tick: Callable[[], None] = lambda: None) -> int:
        """Polls and scales until interrupted; 1 if Redis or the API died."""
        # One try per poll: a poll that fails keeps the counts as they are, as KEDA does.
        with Client(self.base_url, timeout_s=5.0, retry=RetryPolicy(attempts=1)) as client:
            while True:
                for name, child in (("Redis", self._redis), ("the API", self._api)):
                    if child is not None and child.exited() is not None:
                        self.say(f"{name} exited with {child.exited()}; stopping")
                        return 1
                now = time.monotonic()
                if any(pool.poll_due(now) for pool in self.pools):
                    self._poll(client, now)
                for pool in self.pools:
                    pool.reconcile(now)
                on_tick()
                time.sleep(TICK_S)

    def stop(self) -> None:
        """Workers first, all at once, so they drain while the API and Redis are still there; each
        pool's drain budget is the wait, as a pod's grace period is its drain plus a margin."""
        for pool in self.pools:
            pool.begin_stop()
        now = time.monotonic()
        for pool in self.pools:
            pool.finish_stop(now + pool.spec.drain_s + DRAIN_MARGIN_S)
        for child in (self._api, self._redis):
            if child is not None:
                child.stop(STOP_S)
        if self.logs is None:  # logs are kept for a look after the stop
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _poll(self, client: Client, now: float) -> None:
        try:
            queues, workers = client.queues(), client.workers()
        except StokerError as exc:
            self.snapshot.error = f"cannot read the queues: {exc}"  # KEDA too keeps the count it has
            return
        self.snapshot.queues, self.snapshot.workers, self.snapshot.error = queues, workers, None
        # The pool's formula: the waiting lists and the in-flight list of each of its queues.
        in_lists = {q["name"]: q["waiting_total"] + q["running"] for q in queues}
        busy = {w["id"]: w.get("busy", 0) for w in workers}
        for pool in self.pools:
            if pool.poll_due(now):
                pool.scale(sum(in_lists.get(q, 0) for q in pool.spec.queues), now, busy)

    def _decided(self, line: str) -> None:
        self.decisions = [*self.decisions[-7:], (time.time(), line)]
        self.say(line)

    def _publish_catalogs(self) -> None:
        """Each pool's catalog, as the chart's post-install Job publishes it, all at once."""
        publishers = [
            Child.start(
                f"the catalog of pool {spec.name}",
                [*python_module("stoker_worker"), "--publish-catalog"],
                {"REDIS_URL": self.redis_url, **spec.worker_env()},
                log=self._log(f"catalog-{spec.name}"),
            )
            for spec in self.options.pools
        ]
        deadline = time.monotonic() + CATALOG_S
        for publisher in publishers:
            try:
                code = publisher.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                publisher.stop(1)
                raise StartError(f"{publisher.name} was not published after {CATALOG_S:g} s") from None
            if code != 0:
                where = f"; see {self.logs}" if self.logs else ""
                raise StartError(f"{publisher.name} could not be published (exit {code}){where}")

    def _api_env(self) -> dict[str, str]:
        # One anonymous local user: no keys, no per-key submit limit. The banner says so.
        return {
            "REDIS_URL": self.redis_url,
            "API_HOST": self.options.host,
            "API_PORT": str(self.options.port),
            "API_AUTH_DISABLED": "true",
            "API_SUBMIT_RATE": "off",
        }

    def _log(self, name: str) -> Path | None:
        return None if self.logs is None else self.logs / f"{name}.log"


@contextmanager
def interrupts_as_keyboard_interrupt() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP (the terminal closed) stop the stack: the children live in sessions
    of their own, so nothing else would stop them. SIGINT is set too, since a shell starts a background
    command with it ignored, and Python then keeps it so."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def ignore_interrupts() -> None:
    """While the stack stops, a second Ctrl-C must not cut the workers' drain short."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def env_port(default: int = 8000) -> int:
    return int(os.environ.get("API_PORT", str(default)))
