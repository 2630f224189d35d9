"""Operator actions: purge, retry from dead-letter, retry and cancel of single jobs."""

from __future__ import annotations

import pytest

from stoker_queue import Broker, FakeClock, InvalidTransition, JobNotFound, JobStatus, QueueAdmin
from tests.queue.helpers import make_kit, structures

pytestmark = pytest.mark.every_redis  # the protocol, also on a Redis Cluster and a TLS Redis


async def test_purge_cancels_waiting_and_scheduled_but_not_running(broker: Broker) -> None:
    kit, admin = make_kit(broker), QueueAdmin(broker)
    running = await kit.submit()
    await kit.claim_one()
    waiting = [await kit.submit() for _ in range(3)]
    scheduled = await kit.submit(delay_s=30)
    assert await admin.purge("q") == 4
    for job_id in [*waiting, scheduled]:
        job = await kit.reader.get_job(job_id)
        assert job.status is JobStatus.CANCELED and job.error is not None and job.error.code == "purged"
    assert (await kit.reader.get_job(running)).status is JobStatus.RUNNING
    stats = await kit.reader.queue_stats("q")
    assert (stats.waiting_total, stats.scheduled, stats.running) == (0, 0, 1)


async def test_purge_of_a_large_queue_runs_in_batches(broker: Broker) -> None:
    from stoker_queue import JobRequest

    kit, admin = make_kit(broker), QueueAdmin(broker)
    await kit.producer.submit_many([JobRequest(task="t", queue="q") for _ in range(1203)])
    assert await admin.purge("q") == 1203
    assert (await kit.reader.queue_stats("q")).waiting_total == 0


async def test_retry_dead_requeues_with_fresh_attempts(broker: Broker) -> None:
    kit, admin = make_kit(broker), QueueAdmin(broker)
    ids = [await kit.submit(max_attempts=1) for _ in range(3)]
    for _ in ids:
        await kit.consumer.fail(await kit.claim_one(), code="x", message="y")
    assert (await kit.reader.queue_stats("q")).dead == 3
    assert await admin.retry_dead("q") == 3
    where = await structures(broker)
    assert where["dead"] == [] and sorted(where["waiting:normal"]) == sorted(ids)
    job = await kit.claim_one()
    assert job.id == ids[0] and job.attempts.error == 0
    assert (await kit.reader.get_job(job.id)).error is None


async def test_retry_of_one_job(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    failed = await kit.submit(max_attempts=1)
    await kit.consumer.fail(await kit.claim_one(), code="x", message="y")
    canceled = await kit.submit()
    await kit.producer.cancel(canceled)
    expired = await kit.submit(ttl_s=1)
    clock.advance(2)
    await kit.consumer.claim("q", 1)
    for job_id in (failed, canceled, expired):
        assert await kit.producer.retry(job_id) is JobStatus.QUEUED
    where = await structures(broker)
    assert where["dead"] == [] and where["finished"] == [] and len(where["waiting:normal"]) == 3
    with pytest.raises(InvalidTransition):
        await kit.producer.retry(failed)  # queued now


async def test_succeeded_and_running_jobs_cannot_be_retried(broker: Broker) -> None:
    kit = make_kit(broker)
    job_id = await kit.submit()
    job = await kit.claim_one()
    with pytest.raises(InvalidTransition, match="running"):
        await kit.producer.retry(job_id)
    await kit.consumer.ack(job, 1)
    with pytest.raises(InvalidTransition, match="succeeded"):
        await kit.producer.retry(job_id)


async def test_cancel_of_waiting_scheduled_and_finished_jobs(broker: Broker) -> None:
    kit = make_kit(broker)
    waiting = await kit.submit()
    scheduled = await kit.submit(delay_s=10)
    assert await kit.producer.cancel(waiting) is JobStatus.CANCELED
    assert await kit.producer.cancel(scheduled) is JobStatus.CANCELED
    where = await structures(broker)
    assert where["waiting:normal"] == [] and where["scheduled"] == []
    assert sorted(where["finished"]) == sorted([waiting, scheduled])
    with pytest.raises(InvalidTransition, match="canceled"):
        await kit.producer.cancel(waiting)
    with pytest.raises(JobNotFound):
        await kit.producer.cancel("q.01JDX3K0000000000000000000")
