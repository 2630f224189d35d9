"""Redis unreachable (stopped, then started again from its append-only file) and Redis frozen (SIGSTOP).

While it lasts the API answers 503 with ``Retry-After`` within a second and every worker's
``/healthz`` stays 200; jobs that finish meanwhile are settled once Redis is back, the rest resume.
Nothing is lost, nothing runs twice, nothing is charged.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx
from pydantic import JsonValue

from tests.chaos.api import Answer, Tally, job, wait_for_task
from tests.chaos.harness import Stack, Worker
from tests.chaos.ledger import read_runs
from tests.chaos.measure import check_no_reruns_or_charges, settle_and_measure
from tests.chaos.report import Result

ANSWER_WITHIN_S = 1.0


@dataclass(frozen=True)
class Size:
    outage_s: float
    jobs: int
    job_s: float
    lead_s: float  # from the submission to the outage: the first jobs are mid-run when it starts
    settle_s: float


FULL = Size(outage_s=10, jobs=48, job_s=1.5, lead_s=1.0, settle_s=90)
REDUCED = Size(outage_s=2, jobs=16, job_s=0.8, lead_s=0.4, settle_s=60)


@dataclass
class Probes:
    api: list[tuple[str, Answer]] = field(default_factory=list)
    live: list[tuple[str, int]] = field(default_factory=list)  # (worker, /healthz status)


def run(size: Size) -> list[Result]:
    """Both outages, one after the other, on the same Redis, API and workers; a row each."""
    with Stack("outage") as stack:
        assert stack.api is not None
        workers = [stack.spawn(health=True, concurrency="4") for _ in range(2)]
        wait_for_task(stack.api, "chaos_a")
        stack.wait_serving(workers)
        return [_phase(stack, workers, kind, size) for kind in ("unreachable", "frozen")]


def _phase(stack: Stack, workers: list[Worker], kind: str, size: Size) -> Result:
    result = Result(f"Redis {kind} {size.outage_s:g}s")
    started = time.monotonic()
    api = stack.api
    assert api is not None
    api.tally = Tally()  # this phase's answers only
    jobs = [job("chaos_a", f"{kind}{n}", size.job_s) for n in range(size.jobs)]
    inputs: dict[str, JsonValue] = dict(zip(api.submit_batch(jobs), (j["input"] for j in jobs), strict=True))
    time.sleep(size.lead_s)
    probes, stop = Probes(), threading.Event()
    prober = threading.Thread(target=_probe, args=(stack, workers, next(iter(inputs)), kind, probes, stop))
    api.outage.set()
    down_at = time.time()
    if kind == "unreachable":
        stack.redis.stop()
    else:
        stack.redis.freeze()
    prober.start()
    time.sleep(size.outage_s)
    stop.set()
    up_at = time.time()
    prober.join()
    if kind == "unreachable":
        stack.redis.start()
    else:
        stack.redis.thaw()
    ready_s = api.wait_ready()
    api.outage.clear()
    _judge_probes(result, probes)
    result.notes.append(f"the API ready {ready_s:.1f}s after Redis came back")
    dead = [w.name for w in workers if not w.alive()]
    result.check(not dead, f"workers exited during the outage: {dead}")
    outcome = settle_and_measure(stack, inputs, result, settle_s=size.settle_s)
    check_no_reruns_or_charges(result, outcome)
    runs = read_runs(stack.ledger)
    ended = [r for i in inputs for r in runs.get(i, []) if r.ended and down_at < r.ended < up_at]
    result.notes.append(f"{len(ended)} handler runs ended while Redis was {kind}")
    result.check(bool(ended), f"no job finished while Redis was {kind}: the scenario proved nothing about settling")
    result.seconds = time.monotonic() - started
    return result


def _probe(stack: Stack, workers: list[Worker], job_id: str, kind: str, probes: Probes, stop: threading.Event) -> None:
    """Ask the API (a read, a listing, a submit) and each worker's liveness, every 0.2 s until ``stop``."""
    assert stack.api is not None
    n = 0
    while not stop.is_set():
        n += 1
        calls = [
            ("GET", f"/v1/jobs/{job_id}", {}),
            ("GET", "/v1/queues/chaos", {}),
            ("POST", "/v1/jobs", {"json": job("chaos_a", f"probe-{kind}{n}")}),
        ]
        for method, path, kwargs in calls:
            answer = stack.api.call(method, path, **kwargs)
            if not stop.is_set():  # an answer that came after Redis was back is no evidence either way
                probes.api.append((f"{method} {path.split('/')[2]}", answer))
        for w in workers:
            try:
                status = httpx.get(f"http://127.0.0.1:{w.health_port}/healthz", timeout=2).status_code
            except httpx.TransportError:
                status = 0
            probes.live.append((w.name, status))
        stop.wait(0.2)


def _judge_probes(result: Result, probes: Probes) -> None:
    bad = [
        f"{what} -> {a.status} in {a.seconds:.2f}s, Retry-After {a.retry_after}"
        for what, a in probes.api
        if a.status != 503 or not a.retry_after or a.seconds > ANSWER_WITHIN_S
    ]
    slowest = max((a.seconds for _, a in probes.api), default=0.0)
    result.notes.append(f"{len(probes.api)} API probes during the outage, slowest {slowest:.2f}s")
    result.check(
        bool(probes.api) and not bad,
        f"{len(bad)} of {len(probes.api)} API answers during the outage were not a 503 with Retry-After within "
        f"{ANSWER_WITHIN_S:g}s: {bad[:3]}",
    )
    not_live = [f"{name} -> {status}" for name, status in probes.live if status != 200]
    result.check(not not_live, f"{len(not_live)} of {len(probes.live)} worker liveness probes failed: {not_live[:3]}")
