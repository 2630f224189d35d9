"""Scale-in under load, as KEDA does it: workers are SIGTERMed one by one and not replaced.

Each drains within its budget and exits 0: nothing is lost, nothing runs twice, no attempt is charged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic import JsonValue

from tests.chaos.api import job, wait_for_task
from tests.chaos.harness import Stack
from tests.chaos.measure import check_no_reruns_or_charges, settle_and_measure
from tests.chaos.report import Result


@dataclass(frozen=True)
class Size:
    jobs: int
    workers: int  # one is left at the end
    concurrency: int
    job_s: float  # well inside the drain budget
    drain_s: float
    term_every_s: float
    settle_s: float


FULL = Size(jobs=1500, workers=4, concurrency=4, job_s=0.1, drain_s=10, term_every_s=2.0, settle_s=120)
REDUCED = Size(jobs=100, workers=2, concurrency=4, job_s=0.1, drain_s=5, term_every_s=1.0, settle_s=60)


def run(size: Size) -> list[Result]:
    result = Result(f"scale-in {size.workers} -> 1 worker (SIGTERM)")
    started = time.monotonic()
    with Stack("scale-in") as stack:
        api = stack.api
        assert api is not None
        workers = [
            stack.spawn(concurrency=str(size.concurrency), drain_s=str(size.drain_s)) for _ in range(size.workers)
        ]
        wait_for_task(api, "chaos_a")
        stack.wait_serving(workers)
        inputs: dict[str, JsonValue] = {}
        jobs = [job("chaos_a", f"s{n}", size.job_s) for n in range(size.jobs)]
        for first in range(0, len(jobs), 500):
            chunk = jobs[first : first + 500]
            inputs.update(zip(api.submit_batch(chunk), (j["input"] for j in chunk), strict=True))
        codes, drains = {}, []
        for worker in workers[:-1]:
            time.sleep(size.term_every_s)
            began = time.monotonic()
            codes[worker.name] = stack.terminate(worker, timeout=size.drain_s + 30)
            drains.append(round(time.monotonic() - began, 1))
        result.notes.append(f"{len(codes)} workers SIGTERMed {size.term_every_s:g}s apart; drained in {drains}s")
        result.check(all(c == 0 for c in codes.values()), f"SIGTERMed workers exited {codes}")
        result.check(
            all(d <= size.drain_s + 5 for d in drains), f"a drain took longer than its {size.drain_s}s budget: {drains}"
        )
        outcome = settle_and_measure(stack, inputs, result, settle_s=size.settle_s)
        check_no_reruns_or_charges(result, outcome)
        if outcome.evicted_attempts:  # free by design: a job claimed as the stop arrived goes straight back
            result.notes.append(f"{outcome.evicted_attempts} jobs handed back unstarted (evicted, not charged)")
    result.seconds = time.monotonic() - started
    return [result]
