"""A rolling update that adds a task to a busy queue.

Old workers serve ``chaos_a``; new ones ``chaos_a`` and ``chaos_b`` on the same queue. Once the
first new worker has published ``chaos_b``, jobs of it are submitted at high priority, so that
old workers still claiming from the queue find them first; then each old worker is SIGTERMed and
replaced by a new one. No job may fail.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic import JsonValue

from tests.chaos.api import job, wait_for_task
from tests.chaos.harness import TASKS_A, TASKS_AB, Stack
from tests.chaos.ledger import read_runs
from tests.chaos.measure import check_no_reruns_or_charges, settle_and_measure
from tests.chaos.report import Result


@dataclass(frozen=True)
class Size:
    jobs_a: int
    jobs_b: int
    old_workers: int
    job_s: float
    step_s: float  # between replacements
    settle_s: float


FULL = Size(jobs_a=1500, jobs_b=500, old_workers=3, job_s=0.1, step_s=2.0, settle_s=120)
REDUCED = Size(jobs_a=100, jobs_b=40, old_workers=2, job_s=0.3, step_s=1.0, settle_s=60)
SETTINGS = {"concurrency": "4", "drain_s": "10"}


def run(size: Size) -> list[Result]:
    result = Result("rolling update adds task B")
    started = time.monotonic()
    with Stack("rolling") as stack:
        api = stack.api
        assert api is not None
        old = [stack.spawn(TASKS_A, SETTINGS) for _ in range(size.old_workers)]
        wait_for_task(api, "chaos_a")
        stack.wait_serving(old)
        inputs: dict[str, JsonValue] = {}

        def submit(task: str, prefix: str, count: int, priority: str = "normal") -> None:
            jobs = [job(task, f"{prefix}{n}", size.job_s, priority) for n in range(count)]
            for first in range(0, count, 500):
                chunk = jobs[first : first + 500]
                inputs.update(zip(api.submit_batch(chunk), (j["input"] for j in chunk), strict=True))

        submit("chaos_a", "a", size.jobs_a)  # the queue is busy before the rollout starts
        new = [stack.spawn(TASKS_AB, SETTINGS)]
        wait_for_task(api, "chaos_b")
        # At the head of the queue while old workers still claim from it: they meet B jobs first.
        submit("chaos_b", "b", size.jobs_b, priority="high")
        submit("chaos_a", "a2-", size.jobs_a // 3)
        codes = {}
        for n, worker in enumerate(old):
            time.sleep(size.step_s)
            codes[worker.name] = stack.terminate(worker)
            if n < len(old) - 1:
                new.append(stack.spawn(TASKS_AB, SETTINGS))
        last_old_left = time.time()
        result.notes.append(f"{len(old)} old workers replaced by {len(new)} new ones, {size.step_s:g}s apart")
        result.check(all(c == 0 for c in codes.values()), f"old workers exited {codes} on SIGTERM")
        outcome = settle_and_measure(stack, inputs, result, settle_s=size.settle_s)
        failed = dict(outcome.errors)
        result.check(not failed, f"jobs that did not succeed, by error: {failed}")
        check_no_reruns_or_charges(result, outcome)
        b_ids = {i for i, given in inputs.items() if isinstance(given, dict) and str(given["tag"]).startswith("b")}
        runs = read_runs(stack.ledger)
        early = sum(1 for i in b_ids for r in runs.get(i, []) if r.ended and r.ended < last_old_left)
        result.notes.append(f"{early} of {len(b_ids)} B jobs finished while old workers still claimed from the queue")
    result.seconds = time.monotonic() - started
    return [result]
