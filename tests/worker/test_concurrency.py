"""WORKER_CONCURRENCY bounds the handlers that run at once, also in a worker that serves a batched task
(whose batches need more slots than that)."""

from __future__ import annotations

from stoker_queue import Broker, JobRequest, JobStatus, Producer, Reader
from tests.worker import sample_tasks
from tests.worker.conftest import StartWorker, wait_done


async def test_single_jobs_run_one_at_a_time_next_to_a_batched_task(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    sample_tasks.RUNNING.update(now=0, most=0)
    # sample_tasks has `square`, batched by 4: the worker claims up to 8 at once to fill batches.
    worker, _ = await start_worker(queues=["default"], concurrency=1, claim_block_s=0.1)
    assert worker.capacity > 1
    ids = [(await producer.submit(JobRequest(task="crowd", input=0.1))).id for _ in range(6)]
    done = [await wait_done(reader, job_id) for job_id in ids]
    assert all(job.status is JobStatus.SUCCEEDED for job in done)
    assert sample_tasks.RUNNING["most"] == 1


async def test_the_concurrency_is_used_in_full(broker: Broker, start_worker: StartWorker) -> None:
    producer, reader = Producer(broker), Reader(broker)
    sample_tasks.RUNNING.update(now=0, most=0)
    await start_worker(queues=["default"], concurrency=3, claim_block_s=0.1)
    ids = [(await producer.submit(JobRequest(task="crowd", input=0.3))).id for _ in range(6)]
    done = [await wait_done(reader, job_id) for job_id in ids]
    assert all(job.status is JobStatus.SUCCEEDED for job in done)
    assert sample_tasks.RUNNING["most"] == 3
