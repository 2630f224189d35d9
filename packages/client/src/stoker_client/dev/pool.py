"""One local worker pool: its worker processes, scaled the way its Kubernetes objects would be.

A Deployment pool keeps ``desired`` workers alive, as a ReplicaSet keeps pods (one that exits is
replaced); scale-in sends SIGTERM, starting workers first, then idle ones, newest first, as the
ReplicaSet controller and the pod-deletion-cost annotation choose pods. A ``job`` pool starts burst
workers that exit on their own once the queues are empty, as KEDA's ScaledJob starts Jobs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stoker_client.dev.processes import Child, free_port, python_module
from stoker_client.dev.scaling import Autoscaler, Decision, jobs_to_start
from stoker_client.dev.values import PoolSpec

RESTART_BACKOFF_S = 5.0


@dataclass(slots=True)
class Worker:
    child: Child
    worker_id: str
    health_port: int
    ready: bool = False


@dataclass(slots=True)
class Pool:
    """Runs one pool's workers; ``env`` is what every worker of the stack gets (Redis, tracing)."""

    spec: PoolSpec
    env: Mapping[str, str]
    logs: Path | None  # a folder for the workers' output; None: the terminal
    say: Callable[[str], None]
    workers: list[Worker] = field(default_factory=list)
    desired: int = 0
    decision: Decision | None = None
    next_poll: float = 0.0
    _serial: int = 0
    _crashed_at: float = float("-inf")
    autoscaler: Autoscaler | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        s = self.spec.scaling
        self.autoscaler = Autoscaler(s) if s and self.spec.mode == "deployment" else None
        self.desired = self.initial_replicas()

    def initial_replicas(self) -> int:
        """What ``helm install`` renders: ``minReplicaCount`` under KEDA, else ``replicas``; none for Jobs."""
        if self.spec.mode == "job":
            return 0
        return self.spec.scaling.min_replicas if self.spec.scaling else self.spec.replicas

    @property
    def alive(self) -> list[Worker]:
        """Workers that count as replicas: started and not told to stop."""
        return [w for w in self.workers if not w.child.stopping and w.child.exited() is None]

    def poll_due(self, now: float) -> bool:
        return self.spec.scaling is not None and now >= self.next_poll

    def scale(self, metric: float, now: float, busy: Mapping[str, int]) -> Decision:
        """One KEDA poll with the pool's metric (waiting + in-flight over its queues)."""
        assert self.spec.scaling is not None
        self.next_poll = now + self.spec.scaling.polling_interval_s
        current = len(self.alive)
        if self.autoscaler is None:  # job mode: start what the ScaledJob would
            decision = jobs_to_start(self.spec.scaling, metric, current)
            for _ in range(decision.desired - current):
                self._start_worker(burst=True)
        else:
            decision = self.autoscaler.decide(metric, current, now)
            self.desired = decision.desired
            self._scale_in(current - decision.desired, busy)
        if decision.desired != current:
            self.say(f"pool {self.spec.name}: {current} -> {decision.desired} ({decision.reason})")
        self.decision = decision
        return decision

    def reconcile(self, now: float) -> None:
        """Replace workers that exited (with a short backoff) and note the ones that became ready."""
        for worker in list(self.workers):
            code = worker.child.exited()
            if code is not None:
                self.workers.remove(worker)
                if not worker.child.stopping and (self.spec.mode != "job" or code != 0):
                    self._crashed_at = now
                    self.say(f"worker {worker.worker_id} exited with {code}; see its log")
            elif not worker.ready and worker.child.is_ready():
                worker.ready = True
                self.say(f"worker {worker.worker_id} ready in {now - worker.child.started_at:.1f} s")
        if self.spec.mode == "deployment":
            missing = self.desired - len(self.alive)
            if missing > 0 and now - self._crashed_at >= RESTART_BACKOFF_S:  # no tight loop of crashing workers
                for _ in range(missing):
                    self._start_worker(burst=False)

    def start_initial(self) -> None:
        for _ in range(self.desired):
            self._start_worker(burst=False)

    def wait_ready(self, timeout_s: float) -> None:
        for worker in self.workers:
            worker.child.wait_ready(timeout_s)
            worker.ready = True

    def _start_worker(self, *, burst: bool) -> None:
        self._serial += 1
        worker_id = f"dev-{self.spec.name}-{self._serial}"
        port = free_port()
        env = {
            **self.env,
            **self.spec.worker_env(),
            "WORKER_WORKER_ID": worker_id,
            "WORKER_HEALTH_HOST": "127.0.0.1",
            "WORKER_HEALTH_PORT": str(port),
        }
        args = python_module("stoker_worker")
        if burst:
            args += ["--burst"] + (["--max-jobs", str(self.spec.max_jobs)] if self.spec.max_jobs else [])
        log = self.logs / f"{worker_id}.log" if self.logs else None
        child = Child.start(f"worker {worker_id}", args, env, ready_url=f"http://127.0.0.1:{port}/readyz", log=log)
        self.workers.append(Worker(child=child, worker_id=worker_id, health_port=port))

    def _scale_in(self, count: int, busy: Mapping[str, int]) -> None:
        """SIGTERM ``count`` workers: starting ones first, then the least busy, newest first."""
        if count <= 0:
            return
        order = sorted(
            self.alive,
            key=lambda w: (w.ready, busy.get(w.worker_id, 0), -w.child.started_at),
        )
        for worker in order[:count]:
            worker.child.terminate()

    def begin_stop(self) -> None:
        """SIGTERM to every ready worker, so they drain; SIGKILL to those still starting: a worker
        claims nothing before every task's setup() is done, and a model load cannot be interrupted."""
        for worker in self.workers:
            if worker.child.stopping:
                continue  # scaled in: already draining
            if worker.ready or worker.child.is_ready():
                worker.child.terminate()
            else:
                worker.child.kill()

    def finish_stop(self, deadline: float) -> None:
        """Wait for every worker until ``deadline`` (monotonic), then SIGKILL what is left."""
        for worker in self.workers:
            worker.child.stop(max(0.0, deadline - time.monotonic()))
        self.workers.clear()
