"""Burst mode and job budgets: claim what is there (or N jobs), finish it, exit 0."""

from __future__ import annotations

import asyncio

from stoker_queue import Broker, JobRequest, JobStatus, Producer, Reader
from tests.worker.conftest import StartWorker


async def test_burst_runs_what_waits_and_exits_zero(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    ids = [s.id for s in await producer.submit_many([JobRequest(task="sum", input={"values": [i]}) for i in range(7)])]
    _, run = await start_worker(burst=True, concurrency=2, claim_block_s=0.2)
    assert await asyncio.wait_for(run, 20) == 0
    assert {(await reader.get_job(i)).status for i in ids} == {JobStatus.SUCCEEDED}


async def test_burst_waits_for_a_retry_of_its_own_before_it_ends(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    job = await producer.submit(JobRequest(task="explode", input={"a": "b"}, max_attempts=2))
    _, run = await start_worker(burst=True, retry_backoff_s=0.001, retry_backoff_cap_s=0.001, claim_block_s=0.2)
    assert await asyncio.wait_for(run, 20) == 0
    done = await reader.get_job(job.id)
    assert done.status is JobStatus.FAILED and done.attempts.error == 2  # the retry ran before the exit


async def test_a_job_budget_takes_exactly_that_many(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    ids = [s.id for s in await producer.submit_many([JobRequest(task="sum", input={"values": [i]}) for i in range(5)])]
    _, run = await start_worker(max_jobs=3, concurrency=2)
    assert await asyncio.wait_for(run, 20) == 0
    statuses = [(await reader.get_job(i)).status for i in ids]
    assert statuses.count(JobStatus.SUCCEEDED) == 3 and statuses.count(JobStatus.QUEUED) == 2


async def test_burst_on_an_empty_queue_ends_at_once(start_worker: StartWorker) -> None:
    _, run = await start_worker(burst=True, claim_block_s=0.2)
    assert await asyncio.wait_for(run, 10) == 0
