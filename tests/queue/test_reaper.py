"""Crash recovery: expired leases go back to the queue, poison jobs to the dead-letter list."""

from __future__ import annotations

import pytest

from stoker_queue import Broker, FakeClock, JobStatus, LeaseLost, Reaper, ReapReport
from tests.queue.helpers import make_kit, structures

pytestmark = pytest.mark.every_redis  # the protocol, also on a Redis Cluster and a TLS Redis


async def test_expired_lease_is_requeued_first_in_line_as_a_crash(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker, lease_s=10)
    crashed = await kit.submit()
    later = await kit.submit()
    job = await kit.claim_one()
    assert job.id == crashed
    clock.advance(9.999)
    assert await Reaper(broker, owner="r").run_once("q", force=True) == ReapReport()
    clock.advance(0.002)
    report = await Reaper(broker, owner="r").run_once("q", force=True)
    assert report == ReapReport(requeued=1)
    where = await structures(broker)
    assert where["waiting:normal"] == [later, crashed] and where["running"] == [] and where["leases"] == []
    again = await kit.claim_one()
    assert again.id == crashed and again.attempts.crash == 1 and again.token == 2


async def test_poison_job_goes_dead_after_max_crashes(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker, lease_s=1)
    job_id = await kit.submit(max_crashes=2)
    reaper = Reaper(broker, owner="r")
    for expected in (JobStatus.QUEUED, JobStatus.FAILED):
        await kit.claim_one()
        clock.advance(2)
        await reaper.run_once("q", force=True)
        assert (await kit.reader.get_job(job_id)).status is expected
    record = await kit.reader.get_job(job_id)
    assert record.attempts.crash == 2 and record.error is not None and record.error.code == "crashed"
    assert (await structures(broker))["dead"] == [job_id]


async def test_crashed_job_with_cancel_requested_ends_canceled(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker, lease_s=1)
    job_id = await kit.submit()
    await kit.claim_one()
    await kit.producer.cancel(job_id)
    clock.advance(2)
    assert await Reaper(broker, owner="r").run_once("q", force=True) == ReapReport(canceled=1)
    assert (await kit.reader.get_job(job_id)).status is JobStatus.CANCELED


async def test_worker_that_renews_keeps_its_job(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker, lease_s=3)
    job_id = await kit.submit()
    job = await kit.claim_one()
    reaper = Reaper(broker, owner="r")
    for _ in range(10):  # ten lease periods, renewed every third of one
        for _ in range(3):
            clock.advance(1)
            assert (await kit.consumer.renew([job])).lost == frozenset()
            await reaper.run_once("q", force=True)
    await kit.consumer.ack(job, "ok")
    record = await kit.reader.get_job(job_id)
    assert record.status is JobStatus.SUCCEEDED and record.attempts.crash == 0 and job.token == 1


async def test_late_ack_after_requeue_and_reclaim_is_refused(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker, lease_s=1)
    other = make_kit(broker, worker_id="w2", lease_s=30)
    job_id = await kit.submit()
    stale = await kit.claim_one()
    clock.advance(2)
    await Reaper(broker, owner="r").run_once("q", force=True)
    current = await other.claim_one()
    assert current.id == job_id and current.token == 2
    with pytest.raises(LeaseLost):
        await kit.consumer.ack(stale, "from the dead worker")
    assert (await kit.consumer.renew([stale])).lost == {(job_id, stale.token)}
    record = await kit.reader.get_job(job_id)
    assert record.status is JobStatus.RUNNING and record.worker == "w2"
    await other.consumer.ack(current, "from the live worker")
    assert await kit.reader.get_result(job_id) == "from the live worker"


async def test_late_ack_after_requeue_before_reclaim_is_refused(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker, lease_s=1)
    job_id = await kit.submit()
    stale = await kit.claim_one()
    clock.advance(2)
    await Reaper(broker, owner="r").run_once("q", force=True)
    with pytest.raises(LeaseLost):
        await kit.consumer.ack(stale, "late")
    assert (await kit.reader.get_job(job_id)).status is JobStatus.QUEUED


async def test_lock_lets_one_reaper_through_per_interval(broker: Broker) -> None:
    first, second = Reaper(broker, owner="a", interval_s=30), Reaper(broker, owner="b", interval_s=30)
    assert await first.run_once("q") is not None
    assert await second.run_once("q") is None
    assert await first.run_once("q") is None
    assert await second.run_once("other") is not None  # one lock per queue


async def test_retention_forgets_old_finished_jobs_and_caps_dead(broker: Broker, clock: FakeClock) -> None:
    broker.options = type(broker.options)(retention_s=60, dead_max=1)
    kit = make_kit(broker)
    done = await kit.submit()
    await kit.consumer.ack(await kit.claim_one(), None)
    dead_old, dead_new = await kit.submit(), await kit.submit()
    for _ in range(2):
        await kit.consumer.fail(await kit.claim_one(), code="x", message="y", retry=False)
    clock.advance(61)
    report = await Reaper(broker, owner="r").run_once("q", force=True)
    assert report is not None and report.removed == 2
    assert [j.id for j in (await kit.reader.list_jobs(queue="q"))[0]] == [dead_new]
    assert (await structures(broker))["finished"] == []
    assert done != dead_old


async def test_each_reaped_job_is_reported_once_with_its_task_and_where_it_went(
    broker: Broker, clock: FakeClock
) -> None:
    kit = make_kit(broker, lease_s=1)
    requeued = await kit.submit(task="embed")
    poison = await kit.submit(task="burn", max_crashes=1)
    canceled = await kit.submit(task="echo")
    for _ in range(3):
        await kit.claim_one()
    await kit.producer.cancel(canceled)
    clock.advance(2)
    report = await Reaper(broker, owner="a").run_once("q", force=True)
    assert report is not None
    assert sorted((c.id, c.task, c.status) for c in report.crashed) == sorted(
        [
            (requeued, "embed", JobStatus.QUEUED),
            (poison, "burn", JobStatus.FAILED),
            (canceled, "echo", JobStatus.CANCELED),
        ]
    )
    again = await Reaper(broker, owner="b").run_once("q", force=True)
    assert again is not None and again.crashed == ()  # a second reaper finds nothing left to count
