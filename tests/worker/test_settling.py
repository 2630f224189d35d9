"""A job's outcome is stored while the next job runs: the slot is free once the handler returns, not
once Redis has answered the ack."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Sequence

import pytest

from stoker_queue import Broker, ClaimedJob, Consumer, JobRequest, JobStatus, Producer, Reader
from stoker_worker.observe import JobObserver
from tests.worker.conftest import StartWorker, wait_done

SLOW_ACK_S = 0.5


class Timeline(JobObserver):
    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.stored: dict[str, float] = {}

    @contextlib.contextmanager
    def running(self, task: str, jobs: Sequence[ClaimedJob]) -> Iterator[None]:
        for job in jobs:
            self.started.setdefault(job.id, time.monotonic())
        yield

    def finished(self, job: ClaimedJob, outcome: JobStatus, run_s: float) -> None:
        self.stored[job.id] = time.monotonic()


async def test_the_next_job_runs_while_an_ack_is_on_its_way(
    broker: Broker, start_worker: StartWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    ack_many = Consumer._ack_many

    async def slow_ack(self: Consumer, queue: str, jobs: list) -> list[bool]:  # type: ignore[type-arg]
        await asyncio.sleep(SLOW_ACK_S)  # a slow Redis, injected
        return await ack_many(self, queue, jobs)

    monkeypatch.setattr(Consumer, "_ack_many", slow_ack)
    producer, reader, timeline = Producer(broker), Reader(broker), Timeline()
    first = (await producer.submit(JobRequest(task="async_echo", queue="async", input="a"))).id
    await start_worker(queues=["async"], concurrency=1, claim_block_s=0.1, observers=[timeline])
    assert (await wait_done(reader, first)).status is JobStatus.SUCCEEDED
    second = (await producer.submit(JobRequest(task="async_echo", queue="async", input="b"))).id
    third = (await producer.submit(JobRequest(task="async_echo", queue="async", input="c"))).id
    for job_id in (second, third):
        assert (await wait_done(reader, job_id)).status is JobStatus.SUCCEEDED
    # One at a time (concurrency 1), yet the third started before the second's outcome was stored.
    assert timeline.started[third] < timeline.stored[second]
    assert timeline.stored[second] - timeline.started[second] >= SLOW_ACK_S
