"""Short jobs while workers are SIGKILLed every few seconds and replaced, and Redis is restarted once.

Every job must end ``succeeded`` with its own output; a job runs twice only when its worker was
killed while running it; a ``crash`` is charged only to a job a killed worker held.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from pydantic import JsonValue

from tests.chaos.api import job, wait_for_task
from tests.chaos.harness import Stack
from tests.chaos.measure import settle_and_measure
from tests.chaos.report import Result

WORKER = {"reap_interval_s": "0.5", "heartbeat_s": "1"}


@dataclass(frozen=True)
class Size:
    jobs: int
    lease_s: float  # how soon a killed worker's jobs come back
    workers: int
    concurrency: int
    job_s: float
    kill_every_s: float
    restart_after_kills: int  # Redis restarts right after this kill
    batch: int
    timeout_s: float


FULL = Size(
    jobs=10_000,
    lease_s=5,
    workers=3,
    concurrency=4,
    job_s=0.01,
    kill_every_s=2.0,
    restart_after_kills=3,
    batch=250,
    timeout_s=360,
)
REDUCED = Size(
    jobs=200,
    lease_s=5,
    workers=2,
    concurrency=4,
    job_s=0.1,
    kill_every_s=1.5,
    restart_after_kills=1,
    batch=100,
    timeout_s=60,
)


def run(size: Size) -> list[Result]:
    result = Result(f"SIGKILL every {size.kill_every_s:g}s + Redis restart")
    started = time.monotonic()
    with Stack("kill") as stack:
        api = stack.api
        assert api is not None
        for _ in range(size.workers):
            stack.spawn(common=WORKER, concurrency=str(size.concurrency), lease_s=str(size.lease_s))
        wait_for_task(api, "chaos_a")
        inputs: dict[str, JsonValue] = {}
        submitted = threading.Event()
        errors: list[str] = []

        def submit() -> None:
            try:
                for first in range(0, size.jobs, size.batch):
                    jobs = [
                        job("chaos_a", f"k{n}", size.job_s) for n in range(first, min(first + size.batch, size.jobs))
                    ]
                    ids = api.submit_batch(jobs)
                    inputs.update(zip(ids, (j["input"] for j in jobs), strict=True))
            except Exception as exc:  # the row says why the submission stopped
                errors.append(repr(exc))
            finally:
                submitted.set()

        submitter = threading.Thread(target=submit, name="submitter")
        submitter.start()
        restarted_s = None
        deadline = time.monotonic() + size.timeout_s
        rng = random.Random(9)
        skipped = 0
        while time.monotonic() < deadline:
            time.sleep(size.kill_every_s)
            if submitted.is_set() and stack.wait_settled(0):
                break
            ready = [w for w in stack.workers if w.serving()]
            if not ready:  # every worker is still starting: killing one now would test nothing
                skipped += 1
                continue
            stack.kill(rng.choice(ready))
            stack.spawn(common=WORKER, concurrency=str(size.concurrency), lease_s=str(size.lease_s))
            if len(stack.kills) == size.restart_after_kills:
                restarted_s = _restart_redis(stack)
        submitter.join()
        busy = [k for k in stack.kills if k.held]
        result.notes.append(
            f"{len(stack.kills)} workers SIGKILLed ({len(busy)} holding jobs, {sum(len(k.held) for k in busy)} held); "
            f"Redis restarted once, the API ready again in {restarted_s}s; {skipped} kill ticks found no worker serving"
        )
        result.check(not errors, f"submission stopped: {errors}")
        result.check(restarted_s is not None, "the chaos ended before Redis was restarted")
        result.check(len(stack.kills) > size.restart_after_kills, f"only {len(stack.kills)} kills")
        outcome = settle_and_measure(stack, inputs, result, settle_s=max(30.0, deadline - time.monotonic()))
        result.check(
            not outcome.unjustified_twice,
            f"{len(outcome.unjustified_twice)} jobs ran again although no "
            f"worker running them was killed (e.g. {outcome.unjustified_twice[:2]})",
        )
        result.check(
            not outcome.wrongly_charged,
            f"{outcome.wrongly_charged} attempts charged beyond the kills (e.g. {outcome.charged_examples[:2]})",
        )
        codes = {w.name: stack.terminate(w) for w in list(stack.workers)}
        result.check(all(c == 0 for c in codes.values()), f"workers left at the end exited {codes} on SIGTERM")
    result.seconds = time.monotonic() - started
    return [result]


def _restart_redis(stack: Stack) -> float:
    """Stop Redis (it flushes its append-only file), start it on the same port; seconds until the API is ready."""
    assert stack.api is not None
    stack.api.outage.set()
    began = time.monotonic()
    try:
        stack.redis.stop()
        stack.redis.start()
        stack.api.wait_ready()
    finally:
        stack.api.outage.clear()
    return round(time.monotonic() - began, 2)
