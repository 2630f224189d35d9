"""A rolling update that adds a task to a busy queue: old workers leave the new task's jobs for the new
workers, uncharged, instead of failing them."""

from __future__ import annotations

import asyncio
import logging

import pytest

from stoker_queue import Attempts, Broker, JobRequest, JobStatus, Producer, Reader
from tests.worker.conftest import StartWorker, wait_done


async def test_old_workers_never_fail_a_task_they_lack(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    await start_worker(tasks=["stoker_worker.tasks.echo"], queues=["default"], claim_block_s=0.1)
    echo = [(await producer.submit(JobRequest(task="echo", input=i))).id for i in range(5)]
    added = [(await producer.submit(JobRequest(task="sum", input={"values": [i, 1]}))).id for i in range(5)]
    for job_id in echo:
        assert (await wait_done(reader, job_id)).status is JobStatus.SUCCEEDED
    await asyncio.sleep(0.5)  # the old worker has had its chances at the new task's jobs
    for job_id in added:
        job = await reader.get_job(job_id)
        assert job.status is JobStatus.QUEUED and job.attempts == Attempts(), job
    await start_worker(queues=["default"], claim_block_s=0.1)  # the new pod serves both
    for i, job_id in enumerate(added):
        job = await wait_done(reader, job_id)
        assert job.status is JobStatus.SUCCEEDED and job.attempts == Attempts(), job
        assert await reader.get_result(job_id) == {"total": i + 1}


async def test_a_worker_warns_of_a_task_whose_queue_it_does_not_claim(
    start_worker: StartWorker, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="stoker_worker"):
        await start_worker(queues=["default"])
    warned = [r.getMessage() for r in caplog.records if "square" in r.getMessage()]
    assert warned and "batch" in warned[0], caplog.text
