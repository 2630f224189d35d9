"""A cancel reaches a running handler at once (pub/sub, not the next lease renewal): ``ctx.progress()``
raises at its first call after it, and a handler that returns early on ``ctx.cancelled`` ends canceled."""

from __future__ import annotations

import asyncio
import time

from stoker_queue import Broker, JobRequest, JobStatus, Producer, Reader
from tests.worker import sample_tasks
from tests.worker.conftest import StartWorker, wait_done


async def _running(reader: Reader, job_id: str) -> None:
    async with asyncio.timeout(10):
        while (await reader.get_job(job_id)).status is not JobStatus.RUNNING:
            await asyncio.sleep(0.01)


async def test_a_handler_that_only_looks_at_ctx_cancelled_hears_it_at_once(
    broker: Broker, start_worker: StartWorker
) -> None:
    producer, reader = Producer(broker), Reader(broker)
    sample_tasks.SAW_CANCEL.clear()
    await start_worker(queues=["cancel"], claim_block_s=0.1)  # lease renewals every 10 s
    job_id = (await producer.submit(JobRequest(task="watchful", queue="cancel", input=20.0))).id
    await _running(reader, job_id)
    await asyncio.sleep(0.2)  # the handler is in its loop
    asked = time.monotonic()
    assert await producer.cancel(job_id) is JobStatus.RUNNING
    done = await wait_done(reader, job_id)
    assert done.status is JobStatus.CANCELED and done.attempts.error == 0, done
    (seen,) = sample_tasks.SAW_CANCEL
    assert seen - asked < 1.0  # heard over pub/sub (well under 100 ms here), not 10 s later
    assert await reader.get_job(job_id) == done


async def test_progress_raises_at_its_first_call_after_the_cancel(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    sample_tasks.STEPS.clear()
    await start_worker(queues=["cancel"], claim_block_s=0.1)
    job_id = (await producer.submit(JobRequest(task="stepper", queue="cancel", input=100))).id
    async with asyncio.timeout(10):
        while not sample_tasks.STEPS or (await reader.get_job(job_id)).progress is None:
            await asyncio.sleep(0.01)
    await producer.cancel(job_id)  # during step 0's work, its report stored
    assert (await wait_done(reader, job_id)).status is JobStatus.CANCELED
    assert sample_tasks.STEPS == [0]  # the report before step 1 raised
