"""No false alarms: a renewal that races an ack is no lost lease, and a clean stop with idle pool threads
leaves normally, with no word of a handler still running."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

from stoker_queue import Broker, JobRequest, Producer, Reader, Reaper, RedisSettings
from stoker_worker import WorkerSettings, load_tasks
from stoker_worker.context import JobContext
from stoker_worker.execution import Item
from stoker_worker.factory import build_worker
from tests.support.processes import API_KEY, start_api, start_worker
from tests.worker.conftest import TASKS, StartWorker, wait_done


async def test_a_renewal_of_a_job_acked_meanwhile_is_not_a_lost_lease(
    broker: Broker, newest_redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = WorkerSettings(
        worker_id="w-race", tasks=TASKS, health_port=0, redis=RedisSettings(redis_url=newest_redis_url)
    )
    worker = build_worker(broker, settings, load_tasks(settings.tasks))
    await Producer(broker).submit(JobRequest(task="echo", input=1))
    (job,) = (await worker.consumer.claim("default", 1)).jobs
    item = Item(job=job, context=JobContext(job.id, 1))
    worker.inflight.add(item)  # the renewal's snapshot still holds it ...
    item.settling = True  # ... while the runner stores its outcome
    await worker.consumer.ack(job, 1)
    with caplog.at_level(logging.WARNING):
        await worker.upkeep.renew_leases()
    assert "lease lost" not in caplog.text
    assert not item.context.cancelled


def test_a_clean_stop_leaves_normally(newest_redis_url: str, tmp_path: Path) -> None:
    api, base = start_api(newest_redis_url, tmp_path)
    worker = start_worker(
        newest_redis_url, tmp_path, tasks="stoker_worker.tasks.echo", claim_block_s="0.2", concurrency="8"
    )
    try:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        for _ in range(100):
            answer = httpx.post(f"{base}/v1/jobs?wait=10", json={"task": "echo", "input": 1}, headers=headers)
            if answer.status_code != 404:  # the worker has published its tasks
                break
        assert answer.status_code == 200 and answer.json()["status"] == "succeeded", answer.text
        batch = {"jobs": [{"task": "echo", "input": i} for i in range(200)]}  # every pool thread gets work
        submitted = httpx.post(f"{base}/v1/jobs/batch", json=batch, headers=headers)
        assert submitted.status_code == 202, submitted.text
        last = submitted.json()["items"][-1]["id"]
        assert httpx.get(f"{base}/v1/jobs/{last}?wait=20", headers=headers, timeout=30).json()["status"] == "succeeded"
    finally:
        code = worker.terminate()
        api.terminate()
    assert code == 0
    assert "handler still running" not in worker.log(), worker.log()


async def test_after_a_clean_stop_no_handler_counts_as_running(broker: Broker, start_worker: StartWorker) -> None:
    worker, run = await start_worker(concurrency=4, claim_block_s=0.1)
    reader = Reader(broker)
    ids = [(await Producer(broker).submit(JobRequest(task="sleep", input=0.05))).id for _ in range(8)]
    for job_id in ids:
        await wait_done(reader, job_id)
    worker.stop()
    assert await asyncio.wait_for(run, 10) == 0
    # Its pool threads may still be alive, idle: only a handler call still running counts.
    assert worker.handlers_running == 0


async def test_a_lost_lease_stops_that_claim_not_a_newer_claim_of_the_same_job(
    broker: Broker, newest_redis_url: str
) -> None:
    """After a lease runs out the same worker may claim the job again while the first handler still runs:
    the loss marks the old attempt only, and settling the old one leaves the new one held."""
    redis_settings = RedisSettings(redis_url=newest_redis_url)
    settings = WorkerSettings(worker_id="w-again", tasks=TASKS, health_port=0, lease_s=0.2, redis=redis_settings)
    worker = build_worker(broker, settings, load_tasks(settings.tasks))
    await Producer(broker).submit(JobRequest(task="echo", input=1))
    (old,) = (await worker.consumer.claim("default", 1)).jobs
    await asyncio.sleep(0.3)
    await Reaper(broker, owner="r").run_once("default", force=True)  # the lease ran out: queued again
    (new,) = (await worker.consumer.claim("default", 1)).jobs
    assert new.id == old.id and new.token > old.token
    first, second = Item(job=old, context=JobContext(old.id, 1)), Item(job=new, context=JobContext(new.id, 1))
    worker.inflight.add(first)
    worker.inflight.add(second)
    await worker.upkeep.renew_leases()
    assert first.context.cancelled and not second.context.cancelled
    worker.inflight.settle(first)
    assert worker.inflight.get(new.id) is second and len(worker.inflight) == 1
