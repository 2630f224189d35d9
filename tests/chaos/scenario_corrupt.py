"""Malformed Redis data: a job whose stored envelope (or state) is not what was written.

Each kind of corruption (``corruption.py``) has a queue of its own, all served by real workers,
so one kind cannot hide another. Per hypothesis example, on every kind's queue: pause it, submit a
job and overwrite its record, submit a valid canary job behind it, resume. The corrupt job must be
dead-lettered with an error code and message (a mutation that is still a valid envelope may simply
run); the canary must succeed (the worker lives and still claims); the API must not answer >= 500
about either. The control kind keeps the record as written: it must run, or the harness is wrong.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import redis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from stoker_queue import Broker, JobRequest, Producer, QueueAdmin, RedisSettings
from stoker_queue.keys import QueueKeys
from tests.chaos.api import wait_for_task
from tests.chaos.corruption import Keep, envelope_kinds, garbage_text, wrong_json
from tests.chaos.harness import Stack
from tests.chaos.report import Result

WORKER = {"lease_s": "2", "reap_interval_s": "0.5", "concurrency": "4"}
HANDLED = ("dead-lettered", "ran")


@dataclass(frozen=True)
class Size:
    examples: int
    settle_s: float  # for one example's jobs
    derandomize: bool  # reduced: the same examples every run


FULL = Size(examples=25, settle_s=5, derandomize=False)
REDUCED = Size(examples=3, settle_s=2.5, derandomize=True)


@dataclass(eq=False)
class Kind:
    name: str
    target: str  # "envelope" or "state": the record overwritten
    outcomes: Counter[str] = field(default_factory=Counter)
    first_bad: str = ""
    wedged: bool = False

    @property
    def queue(self) -> str:
        return f"corrupt-{self.name}"


def run(size: Size) -> list[Result]:
    result = Result("corrupt job records (hypothesis)")
    started = time.monotonic()
    kinds = [Kind("control", "envelope"), *(Kind(n, "envelope") for n in envelope_kinds()), Kind("state", "state")]
    strategies: dict[str, st.SearchStrategy[Any]] = {"control": st.just(Keep()), **envelope_kinds()}
    strategies["state"] = st.one_of(garbage_text(), wrong_json())
    with Stack("corrupt") as stack:
        assert stack.api is not None
        # The control has a worker of its own: what the corrupt jobs do to theirs cannot reach it.
        stack.spawn(common=WORKER, queues=kinds[0].queue)
        worker = stack.spawn(common=WORKER, queues=",".join(k.queue for k in kinds[1:]))
        wait_for_task(stack.api, "chaos_a")
        raw = redis.Redis.from_url(stack.redis.url)

        @given(drawn=st.fixed_dictionaries(strategies))
        @settings(
            max_examples=size.examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def plant_all(drawn: dict[str, Any]) -> None:
            live = [k for k in kinds if not k.wedged]  # a queue that no longer moves would only make us wait
            planted = {k.name: asyncio.run(_plant(stack.redis.url, k, drawn[k.name])) for k in live}
            outcomes = _watch(raw, {k.queue: planted[k.name] for k in live}, size.settle_s)
            assert stack.api is not None
            for kind in live:
                bad_id, _ = planted[kind.name]
                stack.api.call("GET", f"/v1/jobs/{bad_id}")
                stack.api.call("GET", "/v1/jobs", params={"queue": kind.queue})
                outcome = outcomes[kind.queue]
                kind.outcomes[outcome] += 1
                if outcome not in HANDLED and not kind.first_bad:
                    kind.first_bad = f"{drawn[kind.name]!r:.120} -> {outcome}"
                kind.wedged = outcome.startswith("wedged")

        plant_all()
        raw.close()
        alive = worker.alive()
        codes = {w.name: stack.terminate(w) for w in list(stack.workers)}
        tally = stack.api.tally
    control = kinds[0]
    result.check(set(control.outcomes) == {"ran"}, f"the uncorrupted control job did not run: {dict(control.outcomes)}")
    bad = {k.name: dict(k.outcomes) for k in kinds[1:] if set(k.outcomes) - set(HANDLED)}
    result.jobs = f"{sum(sum(k.outcomes.values()) for k in kinds)} planted"
    result.lost = str(sum(n for k in kinds for o, n in k.outcomes.items() if o not in HANDLED))
    result.fives = str(len(tally.unexpected_5xx))
    result.notes.append("outcomes by kind: " + "; ".join(f"{k.name} {dict(k.outcomes)}" for k in kinds))
    result.notes += [f"{k.name}: first mishandled {k.first_bad}" for k in kinds if k.first_bad]
    result.check(not bad, f"corrupt jobs not dead-lettered, or their queue wedged: {bad}")
    result.check(alive, "the worker died")
    result.check(all(c == 0 for c in codes.values()), f"workers exited {codes} on SIGTERM (0 expected)")
    result.check(
        not tally.unexpected_5xx,
        f"{len(tally.unexpected_5xx)} API answers >= 500 {tally.by_route()}: {tally.unexpected_5xx[:1]}",
    )
    result.seconds = time.monotonic() - started
    return [result]


async def _plant(redis_url: str, kind: Kind, corrupt: Any) -> tuple[str, str]:
    broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
    try:
        admin, producer, keys = QueueAdmin(broker), Producer(broker), QueueKeys(kind.queue)
        await admin.pause(kind.queue)
        bad = await producer.submit(JobRequest(task="chaos_a", queue=kind.queue, input={"tag": "bad"}))
        record = keys.jobs if kind.target == "envelope" else keys.state
        written = str(await broker.redis.hget(record, bad.id)).encode()
        await broker.redis.hset(record, bad.id, corrupt(written))
        canary = await producer.submit(JobRequest(task="chaos_a", queue=kind.queue, input={"tag": "canary"}))
        await admin.resume(kind.queue)
        return bad.id, canary.id
    finally:
        await broker.close()


def _watch(raw: redis.Redis, planted: dict[str, tuple[str, str]], timeout: float) -> dict[str, str]:
    """Per queue, what became of its corrupt job and of the canary behind it."""
    deadline = time.monotonic() + timeout
    seen: dict[str, tuple[str, str]] = {}
    while True:
        for queue, (bad_id, canary_id) in planted.items():
            keys = QueueKeys(queue)
            seen[queue] = (_status(raw, keys, bad_id), _status(raw, keys, canary_id))
        if all(b in HANDLED and c == "ran" for b, c in seen.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return {
        q: b if b in HANDLED and c == "ran" else f"wedged (canary {c}, corrupt job {b})" if c != "ran" else b
        for q, (b, c) in seen.items()
    }


def _status(raw: redis.Redis, keys: QueueKeys, job_id: str) -> str:
    state_raw = raw.hget(keys.state, job_id)
    try:
        state = json.loads(state_raw) if state_raw else None
    except ValueError:
        return "state unreadable"
    if not isinstance(state, dict):
        return "state unreadable"
    status = state.get("status")
    if status == "succeeded":
        return "ran"
    if status != "failed":
        return str(status)
    error = json.loads(state["error"]) if isinstance(state.get("error"), str) else state.get("error") or {}
    in_dead = job_id.encode() in raw.lrange(keys.dead, 0, -1)
    if in_dead and error.get("code") and error.get("message"):
        return "dead-lettered"
    return f"failed without dead letter or error (code {error.get('code')!r}, dead-lettered {in_dead})"
