"""Submitting: one job, batches in one round trip, priorities, delays, idempotency, ttl."""

from __future__ import annotations

import pytest

from stoker_queue import (
    Broker,
    FakeClock,
    InvalidQueueName,
    JobNotFound,
    JobRequest,
    JobStatus,
    Priority,
    Reaper,
)
from tests.queue.helpers import command_calls, make_kit, structures

pytestmark = pytest.mark.every_redis  # the protocol, also on a Redis Cluster and a TLS Redis


async def _evalsha_calls(broker: Broker) -> int:
    return await command_calls(broker, "evalsha")


async def test_submit_queues_a_job(broker: Broker) -> None:
    kit = make_kit(broker)
    job_id = await kit.submit(input={"x": 1}, metadata={"team": "vision"})
    job = await kit.reader.get_job(job_id)
    assert job.status is JobStatus.QUEUED
    assert job.envelope.input == {"x": 1}
    assert job.metadata == {"team": "vision"}
    assert job.queue == "q"
    assert job_id.startswith("q.")
    assert (await structures(broker))["waiting:normal"] == [job_id]


async def test_batch_is_one_round_trip_and_keeps_order(broker: Broker) -> None:
    kit = make_kit(broker)
    await kit.submit()  # the first call loads the script
    before = await _evalsha_calls(broker)
    submitted = await kit.producer.submit_many([JobRequest(task="echo", queue="q", input=i) for i in range(200)])
    assert await _evalsha_calls(broker) == before + 1
    assert len({s.id for s in submitted}) == 200
    inputs = [(await kit.reader.get_job(s.id)).envelope.input for s in submitted]
    assert inputs == list(range(200))


async def test_batch_across_queues_answers_in_request_order(broker: Broker) -> None:
    kit = make_kit(broker)
    reqs = [JobRequest(task="echo", queue=q, input=i) for i, q in enumerate(["a", "b", "a", "c", "b"])]
    submitted = await kit.producer.submit_many(reqs)
    assert [s.id.split(".")[0] for s in submitted] == ["a", "b", "a", "c", "b"]
    assert await kit.reader.list_queues() == ["a", "b", "c"]


async def test_claims_follow_priority_then_fifo(broker: Broker) -> None:
    kit = make_kit(broker)
    low = await kit.submit(priority=Priority.LOW)
    n1 = await kit.submit()
    high = await kit.submit(priority=Priority.HIGH)
    n2 = await kit.submit()
    batch = await kit.consumer.claim("q", 10)
    assert [j.id for j in batch.jobs] == [high, n1, n2, low]


async def test_delayed_job_waits_in_scheduled_until_due(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    job_id = await kit.submit(delay_s=10)
    job = await kit.reader.get_job(job_id)
    assert job.status is JobStatus.SCHEDULED
    assert job.scheduled_for is not None
    assert (await kit.consumer.claim("q", 1)).jobs == []
    clock.advance(9.9)
    batch = await kit.consumer.claim("q", 1)
    assert batch.jobs == []
    assert batch.next_due_ms == clock.current_ms + 100
    clock.advance(0.1)
    assert [j.id for j in (await kit.consumer.claim("q", 1)).jobs] == [job_id]


async def test_reaper_promotes_due_jobs_without_a_claim(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    job_id = await kit.submit(delay_s=5)
    clock.advance(5)
    report = await Reaper(broker, owner="t").run_once("q")
    assert report is not None and report.promoted == 1
    assert (await kit.reader.get_job(job_id)).status is JobStatus.QUEUED


async def test_idempotency_key_returns_the_existing_job(broker: Broker) -> None:
    kit = make_kit(broker)
    first = await kit.producer.submit(JobRequest(task="echo", queue="q", idempotency_key="order-7"))
    again = await kit.producer.submit(JobRequest(task="echo", queue="q", idempotency_key="order-7"))
    assert first.created and not again.created
    assert again.id == first.id
    both = await kit.producer.submit_many(
        [JobRequest(task="echo", queue="q", idempotency_key=k) for k in ("k2", "k2", "order-7")]
    )
    assert [s.created for s in both] == [True, False, False]
    assert both[0].id == both[1].id and both[2].id == first.id
    assert (await kit.reader.queue_stats("q")).waiting_total == 2


async def test_idempotency_key_expires(broker: Broker) -> None:
    broker.options = type(broker.options)(idempotency_ttl_s=0.05)
    kit = make_kit(broker)
    first = await kit.producer.submit(JobRequest(task="echo", queue="q", idempotency_key="k"))
    assert 0 < await broker.redis.pttl("stoker:{q}:idem:k") <= 50
    await broker.redis.delete("stoker:{q}:idem:k")  # as if the TTL ran out
    second = await kit.producer.submit(JobRequest(task="echo", queue="q", idempotency_key="k"))
    assert second.created and second.id != first.id


async def test_ttl_expires_a_job_that_never_started(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    by_claim = await kit.submit(ttl_s=1)
    clock.advance(1)
    assert (await kit.consumer.claim("q", 5)).jobs == []
    job = await kit.reader.get_job(by_claim)
    assert job.status is JobStatus.EXPIRED
    assert job.error is not None and job.error.code == "expired"

    by_reaper = await kit.submit(ttl_s=1, delay_s=2)
    clock.advance(3)
    report = await Reaper(broker, owner="t").run_once("q", force=True)
    assert report is not None and report.expired == 1
    assert (await kit.reader.get_job(by_reaper)).status is JobStatus.EXPIRED
    assert (await structures(broker))["scheduled"] == []


async def test_ttl_does_not_touch_a_started_job(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    job_id = await kit.submit(ttl_s=1)
    job = await kit.claim_one()
    clock.advance(5)
    await Reaper(broker, owner="t").run_once("q", force=True)
    await kit.consumer.ack(job, "done")
    assert (await kit.reader.get_job(job_id)).status is JobStatus.SUCCEEDED


async def test_invalid_queue_name_is_refused(broker: Broker) -> None:
    kit = make_kit(broker)
    for bad in ("", "Upper", "has space", "-dash", "a" * 64, "dot.ted", "{tag}"):
        with pytest.raises(InvalidQueueName):
            await kit.submit(queue=bad)


async def test_unknown_job_is_not_found(broker: Broker) -> None:
    kit = make_kit(broker)
    with pytest.raises(JobNotFound):
        await kit.reader.get_job("q.01JDX3K0000000000000000000")


async def test_submissions_report_the_status_the_job_is_in(broker: Broker) -> None:
    kit = make_kit(broker)
    now = await kit.producer.submit(JobRequest(task="t", queue="q", idempotency_key="k"))
    later = await kit.producer.submit(JobRequest(task="t", queue="q", delay_s=5))
    assert (now.status, later.status) == (JobStatus.QUEUED, JobStatus.SCHEDULED)
    await kit.consumer.ack(await kit.claim_one(), None)
    again = await kit.producer.submit(JobRequest(task="t", queue="q", idempotency_key="k"))
    assert (again.id, again.created, again.status) == (now.id, False, JobStatus.SUCCEEDED)
