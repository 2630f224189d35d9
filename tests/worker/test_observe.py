"""The observer seam: every transition of a job reaches every observer once, in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence

import pytest

from stoker_queue import (
    Attempts,
    Broker,
    ClaimedJob,
    CrashedJob,
    JobEnvelope,
    JobRequest,
    JobStatus,
    Producer,
    Reader,
)
from stoker_worker.observe import JobObserver, Observers
from tests.worker.conftest import StartWorker, wait_done


class Recorder(JobObserver):
    """Writes down what it is told, per job id."""

    def __init__(self) -> None:
        self.events: dict[str, list[str]] = {}
        self.batches: list[tuple[str, int]] = []
        self.setups: list[str] = []

    def _add(self, job_id: str, event: str) -> None:
        self.events.setdefault(job_id, []).append(event)

    def claimed(self, job: ClaimedJob) -> None:
        self._add(job.id, "claimed")

    @contextlib.contextmanager
    def running(self, task: str, jobs: Sequence[ClaimedJob]) -> Iterator[None]:
        self.batches.append((task, len(jobs)))
        for job in jobs:
            self._add(job.id, "running")
        yield

    def attempt_failed(self, job: ClaimedJob, code: str, message: str, status: JobStatus) -> None:
        self._add(job.id, f"failed:{code}->{status.value}")

    def finished(self, job: ClaimedJob, outcome: JobStatus, run_s: float) -> None:
        assert run_s >= 0
        self._add(job.id, f"finished:{outcome.value}")

    def evicted(self, job: ClaimedJob) -> None:
        self._add(job.id, "evicted")

    def released(self, job: ClaimedJob) -> None:
        self._add(job.id, "released")

    def crashed(self, queue: str, jobs: Sequence[CrashedJob]) -> None:
        for job in jobs:
            self._add(job.id, f"crashed:{job.status.value}")

    def setup_done(self, task: str, seconds: float) -> None:
        self.setups.append(task)


class Broken(JobObserver):
    def claimed(self, job: ClaimedJob) -> None:
        raise RuntimeError("an observer bug")


async def test_each_job_tells_its_story_in_order(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    recorder = Recorder()
    await start_worker(retry_backoff_s=0.01, observers=[Broken(), recorder], queues=["default", "batch", "model"])
    ok = (await producer.submit(JobRequest(task="sum", input={"values": [1, 2]}))).id
    flaky = (await producer.submit(JobRequest(task="explode", input={"a": "b"}, max_attempts=2))).id
    squares = [(await producer.submit(JobRequest(task="square", queue="batch", input=i))).id for i in range(4)]
    for job_id in [ok, flaky, *squares]:
        await wait_done(reader, job_id)
    await asyncio.sleep(0.05)  # released comes right after the outcome is stored
    assert recorder.events[ok] == ["claimed", "running", "finished:succeeded", "released"]
    assert recorder.events[flaky] == [
        *["claimed", "running", "failed:RuntimeError->scheduled", "released"],
        *["claimed", "running", "failed:RuntimeError->failed", "finished:failed", "released"],
    ]
    assert ("square", 4) in recorder.batches  # one handler call for the whole batch
    assert all(recorder.events[s] == ["claimed", "running", "finished:succeeded", "released"] for s in squares)
    assert recorder.setups == ["model"]  # the class task's setup(), once


async def test_a_stop_mid_job_ends_in_eviction(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    recorder = Recorder()
    worker, run = await start_worker(drain_s=0.2, observers=[recorder])
    job_id = (await producer.submit(JobRequest(task="sleep", input=2.0))).id
    while recorder.events.get(job_id) != ["claimed", "running"]:
        await asyncio.sleep(0.01)
    worker.stop()
    assert await asyncio.wait_for(run, 10) == 0
    assert recorder.events[job_id] == ["claimed", "running", "evicted", "released"]
    assert (await reader.get_job(job_id)).attempts.evicted == 1


async def test_the_reaping_worker_alone_is_told_of_a_crash(broker: Broker, start_worker: StartWorker) -> None:
    from stoker_queue import Consumer

    producer = Producer(broker)
    job_id = (await producer.submit(JobRequest(task="sleep", input=0.01))).id
    # A worker that claims and then dies: nothing renews its lease.
    (dead,) = (await Consumer(broker, worker_id="dead", lease_s=0.2).claim("default", 1)).jobs
    first, second = Recorder(), Recorder()
    await start_worker(reap_interval_s=0.05, observers=[first])
    await start_worker(reap_interval_s=0.05, observers=[second])
    await wait_done(Reader(broker), job_id, timeout=10)
    told = [e for r in (first, second) for e in r.events.get(dead.id, []) if e.startswith("crashed")]
    assert told == ["crashed:queued"]


def test_observers_fan_out_and_survive_a_broken_one(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    chain = Observers([Broken(), recorder])
    job = ClaimedJob(
        envelope=JobEnvelope(id="q.01J0000000000000000000000", task="t", queue="q"), token=1, attempts=Attempts()
    )
    with caplog.at_level(logging.ERROR, logger="stoker_worker.observe"):
        chain.claimed(job)
        with chain.running("t", [job]):
            pass
    assert recorder.events[job.id] == ["claimed", "running"]
    assert "observer Broken failed on claimed" in caplog.text
