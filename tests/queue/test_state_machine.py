"""Property: after any sequence of operations, no job is lost, none is in two places, and the
counts in the stats equal the lengths of the lists they describe."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from stoker_queue import (
    Backoff,
    Broker,
    ClaimedJob,
    Consumer,
    FakeClock,
    InvalidTransition,
    JobRequest,
    JobStatus,
    LeaseLost,
    Priority,
    Producer,
    QueueAdmin,
    QueueOptions,
    Reader,
    Reaper,
    RedisSettings,
)
from stoker_queue.keys import QueueKeys
from stoker_queue.status import PRIORITIES

QUEUE = "q"
# Where a job of each status must be, and nowhere else.
HOME = {
    JobStatus.QUEUED: "waiting",
    JobStatus.SCHEDULED: "scheduled",
    JobStatus.RUNNING: "running",
    JobStatus.FAILED: "dead",
    JobStatus.SUCCEEDED: "finished",
    JobStatus.CANCELED: "finished",
    JobStatus.EXPIRED: "finished",
}


class QueueMachine(RuleBasedStateMachine):
    redis_settings = RedisSettings()

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        # No retention during a run: every job ever submitted must still be found.
        options = QueueOptions(retention_s=10**9, dead_max=10**9)
        self.broker = Broker.from_settings(self.redis_settings, clock=self.clock, options=options)
        self.run(self.broker.redis.flushdb())
        self.producer, self.reader, self.admin = Producer(self.broker), Reader(self.broker), QueueAdmin(self.broker)
        self.consumers = [Consumer(self.broker, worker_id=f"w{i}", lease_s=10) for i in range(2)]
        self.reaper = Reaper(self.broker, owner="prop")
        self.ids: list[str] = []
        self.held: list[tuple[int, ClaimedJob]] = []  # includes claims that may have gone stale

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.broker.close())
        self.loop.close()

    # -- operations ------------------------------------------------------------------------------

    @rule(
        priority=st.sampled_from(list(Priority)),
        delay=st.sampled_from([0.0, 0.0, 5.0]),
        ttl=st.sampled_from([None, None, 3.0]),
        attempts=st.integers(1, 3),
        crashes=st.integers(1, 2),
        count=st.integers(1, 3),
    )
    def submit(
        self, priority: Priority, delay: float, ttl: float | None, attempts: int, crashes: int, count: int
    ) -> None:
        req = JobRequest(
            task="t",
            queue=QUEUE,
            priority=priority,
            delay_s=delay,
            ttl_s=ttl,
            max_attempts=attempts,
            max_crashes=crashes,
        )
        self.ids += [s.id for s in self.run(self.producer.submit_many([req] * count))]

    @rule(worker=st.integers(0, 1), n=st.integers(1, 3))
    def claim(self, worker: int, n: int) -> None:
        batch = self.run(self.consumers[worker].claim(QUEUE, n))
        self.held += [(worker, job) for job in batch.jobs]

    @precondition(lambda self: self.held)
    @rule(data=st.data(), outcome=st.sampled_from(["ack", "fail", "fail_permanent", "release", "canceled"]))
    def settle(self, data: st.DataObject, outcome: str) -> None:
        worker, job = self.held.pop(data.draw(st.integers(0, len(self.held) - 1)))
        consumer = self.consumers[worker]
        action = {
            "ack": lambda: consumer.ack(job, {"ok": job.id}),
            "fail": lambda: consumer.fail(job, code="e", message="m", backoff=Backoff(base_s=2, cap_s=8)),
            "fail_permanent": lambda: consumer.fail(job, code="e", message="m", retry=False),
            "release": lambda: consumer.release(job),
            "canceled": lambda: consumer.canceled(job),
        }[outcome]
        try:
            self.run(action())
        except LeaseLost:
            status = self.run(self.reader.get_job(job.id)).status
            current = [j for _, j in self.held if j.id == job.id and j.token > job.token]
            # A refused settle must be stale: the job moved on from this claim.
            assert status is not JobStatus.RUNNING or current, (job.id, status)
            return
        if outcome == "ack":
            assert self.run(self.reader.get_result(job.id)) == {"ok": job.id}

    @precondition(lambda self: self.held)
    @rule(worker=st.integers(0, 1))
    def renew(self, worker: int) -> None:
        mine = [j for w, j in self.held if w == worker]
        if mine:
            self.run(self.consumers[worker].renew(mine))

    @precondition(lambda self: self.ids)
    @rule(data=st.data(), action=st.sampled_from(["cancel", "retry"]))
    def control(self, data: st.DataObject, action: str) -> None:
        job_id = data.draw(st.sampled_from(self.ids))
        call = self.producer.cancel if action == "cancel" else self.producer.retry
        with contextlib.suppress(InvalidTransition):
            self.run(call(job_id))

    @rule(seconds=st.sampled_from([0.5, 2.0, 4.0, 11.0]))
    def advance_and_reap(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.run(self.reaper.run_once(QUEUE, force=True))

    @rule(action=st.sampled_from(["pause", "resume", "purge", "retry_dead"]))
    def admin_action(self, action: str) -> None:
        self.run(getattr(self.admin, action)(QUEUE))

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def every_job_is_in_exactly_its_place(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        q, r = QueueKeys(QUEUE), self.broker.redis
        waiting = {p: await r.lrange(q.waiting(p), 0, -1) for p in PRIORITIES}
        places: dict[str, Counter[str]] = {
            "waiting": Counter(i for ids in waiting.values() for i in ids),
            "scheduled": Counter(await r.zrange(q.scheduled, 0, -1)),
            "running": Counter(await r.lrange(q.running, 0, -1)),
            "dead": Counter(await r.lrange(q.dead, 0, -1)),
            "finished": Counter(await r.zrange(q.finished, 0, -1)),
        }
        leases = set(await r.zrange(q.leases, 0, -1))
        indexes = {status: set(await r.zrange(q.status_index(status), 0, -1)) for status in JobStatus}
        states = await r.hgetall(q.state)
        assert set(states) == set(self.ids) == set(await r.zrange(q.index, 0, -1))  # nothing lost
        statuses = {job_id: JobStatus(json.loads(raw)["status"]) for job_id, raw in states.items()}
        priorities = {job_id: Priority(json.loads(raw)["priority"]) for job_id, raw in states.items()}
        for job_id, status in statuses.items():
            home = HOME[status]
            for place, counter in places.items():
                assert counter[job_id] == (1 if place == home else 0), (job_id, status, place, counter[job_id])
            assert (job_id in leases) == (status is JobStatus.RUNNING), (job_id, status)
            if status is JobStatus.QUEUED:
                assert job_id in waiting[priorities[job_id]], (job_id, priorities[job_id])
            assert {s for s, members in indexes.items() if job_id in members} == {status}, job_id
        everywhere = set().union(*places.values()) | leases
        assert everywhere <= set(self.ids), everywhere - set(self.ids)

        stats = await self.reader.queue_stats(QUEUE)
        by_status = Counter(statuses.values())
        assert stats.waiting == {p: len(waiting[p]) for p in PRIORITIES}
        assert stats.waiting_total == by_status[JobStatus.QUEUED]
        assert stats.scheduled == await r.zcard(q.scheduled) == by_status[JobStatus.SCHEDULED]
        assert stats.running == await r.llen(q.running) == by_status[JobStatus.RUNNING]
        assert stats.dead == await r.llen(q.dead) == by_status[JobStatus.FAILED]


@pytest.mark.every_redis
def test_queue_state_machine(any_redis: RedisSettings) -> None:
    QueueMachine.redis_settings = any_redis
    run_state_machine_as_test(
        QueueMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        ),
    )
