"""Claiming and settling: leases, blocking claims, acks with TTL'd results, retries, hand-backs."""

from __future__ import annotations

import asyncio
import time

import pytest

from stoker_queue import (
    Backoff,
    Broker,
    Consumer,
    FakeClock,
    JobRequest,
    JobStatus,
    LeaseLost,
    Producer,
    QueueAdmin,
    Reader,
    ResultExpired,
    ResultNotReady,
)
from stoker_queue.keys import QueueKeys
from tests.queue.helpers import command_calls, make_kit, structures

pytestmark = pytest.mark.every_redis  # the protocol, also on a Redis Cluster and a TLS Redis


async def test_claim_moves_job_to_running_with_a_lease(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker, lease_s=30)
    job_id = await kit.submit(input=[1, 2])
    job = await kit.claim_one()
    assert job.id == job_id and job.token == 1 and job.envelope.input == [1, 2]
    where = await structures(broker)
    assert where["waiting:normal"] == [] and where["running"] == [job_id] and where["leases"] == [job_id]
    assert await broker.redis.zscore(QueueKeys("q").leases, job_id) == clock.current_ms + 30_000
    record = await kit.reader.get_job(job_id)
    assert record.status is JobStatus.RUNNING and record.worker == "w1"


async def test_claim_takes_up_to_n(broker: Broker) -> None:
    kit = make_kit(broker)
    for _ in range(5):
        await kit.submit()
    assert len((await kit.consumer.claim("q", 3)).jobs) == 3
    assert len((await kit.consumer.claim("q", 3)).jobs) == 2
    assert (await kit.consumer.claim("q", 3)).jobs == []


async def test_ack_stores_result_under_its_own_key_with_a_ttl(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    job_id = await kit.submit()
    job = await kit.claim_one()
    with pytest.raises(ResultNotReady):
        await kit.reader.get_result(job_id)
    clock.advance(2.5)
    await kit.consumer.ack(job, {"answer": 42})
    assert await kit.reader.get_result(job_id) == {"answer": 42}
    ttl = await broker.redis.pttl(QueueKeys("q").result(job_id))
    assert 86_000_000 < ttl <= 86_400_000
    record = await kit.reader.get_job(job_id)
    assert record.status is JobStatus.SUCCEEDED
    assert record.timings.run_s == 2.5 and record.timings.total_s == 2.5 and record.timings.wait_s == 0
    assert (await structures(broker))["running"] == []
    await broker.redis.delete(QueueKeys("q").result(job_id))  # as if the TTL ran out
    with pytest.raises(ResultExpired):
        await kit.reader.get_result(job_id)


async def test_output_must_be_strict_json(broker: Broker) -> None:
    kit = make_kit(broker)
    await kit.submit()
    job = await kit.claim_one()
    with pytest.raises(ValueError, match="JSON"):
        await kit.consumer.ack(job, float("nan"))
    assert (await kit.reader.get_job(job.id)).status is JobStatus.RUNNING


async def test_error_retries_with_backoff_then_fails_into_dead_letter(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    job_id = await kit.submit(max_attempts=2)
    backoff = Backoff(base_s=4, factor=2, cap_s=60)
    job = await kit.claim_one()
    status = await kit.consumer.fail(job, code="boom", message="first", backoff=backoff)
    assert status is JobStatus.SCHEDULED
    record = await kit.reader.get_job(job_id)
    assert record.attempts.error == 1 and record.error is not None and record.error.message == "first"
    assert record.scheduled_for is not None
    delay_s = record.scheduled_for.timestamp() - clock.current_ms / 1000
    assert 2 <= delay_s <= 4  # jitter between base/2 and the first ceiling
    clock.advance(delay_s)
    job = await kit.claim_one()
    assert job.token == 2 and job.attempts.error == 1
    status = await kit.consumer.fail(job, code="boom", message="second", backoff=backoff)
    assert status is JobStatus.FAILED
    where = await structures(broker)
    assert where["dead"] == [job_id] and where["scheduled"] == [] and where["running"] == []
    record = await kit.reader.get_job(job_id)
    assert record.attempts.error == 2 and record.error is not None and record.error.code == "boom"
    with pytest.raises(ResultNotReady):
        await kit.reader.get_result(job_id)


async def test_permanent_error_fails_at_once(broker: Broker) -> None:
    kit = make_kit(broker)
    job_id = await kit.submit(max_attempts=5)
    job = await kit.claim_one()
    assert await kit.consumer.fail(job, code="bad_input", message="no", retry=False) is JobStatus.FAILED
    assert (await kit.reader.get_job(job_id)).attempts.error == 1


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    b = Backoff(base_s=1, factor=2, cap_s=10)
    assert [b.ceiling(n) for n in range(1, 6)] == [1, 2, 4, 8, 10]
    delays = [b.delay(4) for _ in range(200)]
    assert all(0.5 <= d <= 8 for d in delays)
    assert max(delays) - min(delays) > 2  # actually spread out


async def test_release_hands_the_job_back_first_in_line_and_uncharged(broker: Broker) -> None:
    kit = make_kit(broker)
    first = await kit.submit()
    await kit.submit()
    job = await kit.claim_one()
    assert job.id == first
    await kit.consumer.release(job)
    again = await kit.claim_one()
    assert again.id == first and again.token == 2
    assert again.attempts.evicted == 1 and again.attempts.error == 0 and again.attempts.crash == 0


async def test_renew_extends_only_current_leases(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker, lease_s=10)
    await kit.submit()
    await kit.submit()
    a, b = (await kit.consumer.claim("q", 2)).jobs
    await kit.consumer.ack(b, None)
    clock.advance(5)
    outcome = await kit.consumer.renew([a, b])
    assert outcome.lost == {(b.id, b.token)} and outcome.cancel_requested == frozenset()
    assert await broker.redis.zscore(QueueKeys("q").leases, a.id) == clock.current_ms + 10_000


async def test_cancel_of_running_job_is_seen_by_renew_and_progress(broker: Broker) -> None:
    kit = make_kit(broker)
    job_id = await kit.submit()
    job = await kit.claim_one()
    assert await kit.consumer.progress(job, 0.25, "a quarter") is False
    record = await kit.reader.get_job(job_id)
    assert record.progress is not None and record.progress.fraction == 0.25 and record.progress.message == "a quarter"
    assert await kit.producer.cancel(job_id) is JobStatus.RUNNING
    assert (await kit.reader.get_job(job_id)).cancel_requested
    assert (await kit.consumer.renew([job])).cancel_requested == {job_id}
    assert await kit.consumer.progress(job, 0.5) is True
    await kit.consumer.canceled(job)
    record = await kit.reader.get_job(job_id)
    assert record.status is JobStatus.CANCELED and not record.cancel_requested
    assert record.attempts.error == 0


async def test_settling_with_a_stale_token_raises_lease_lost(broker: Broker) -> None:
    kit = make_kit(broker)
    await kit.submit()
    job = await kit.claim_one()
    await kit.consumer.ack(job, 1)
    for settle in (
        kit.consumer.ack(job, 2),
        kit.consumer.fail(job, code="x", message="y"),
        kit.consumer.release(job),
        kit.consumer.progress(job, 0.5),
        kit.consumer.canceled(job),
    ):
        with pytest.raises(LeaseLost):
            await settle
    assert await kit.reader.get_result(job.id) == 1


async def test_idle_blocking_claim_wakes_on_submit_without_polling(live_broker: Broker) -> None:
    consumer = Consumer(live_broker, worker_id="w", max_block_s=4)
    producer = Producer(live_broker)
    await producer.submit(_request())  # load the scripts so the measured path is the steady state
    await consumer.claim("q", 1)
    before = {c: await command_calls(live_broker, c) for c in ("evalsha", "blpop")}
    waiter = asyncio.create_task(consumer.claim("q", 1, block_s=20))
    await asyncio.sleep(0.3)
    assert not waiter.done()
    started = time.monotonic()
    await producer.submit(_request())
    batch = await asyncio.wait_for(waiter, 5)
    # Far below the 20 s block: woken by the submit, not by a timeout. (Latency is measured by `make bench`.)
    assert time.monotonic() - started < 2
    assert len(batch.jobs) == 1
    after = {c: await command_calls(live_broker, c) for c in ("evalsha", "blpop")}
    # No sleep-polling: while idle, the claimer made one claim call and one blocking pop.
    claims = after["evalsha"] - before["evalsha"]
    assert claims <= 3  # claim, submit, claim
    assert after["blpop"] - before["blpop"] == 1


async def test_blocking_claim_wakes_when_a_scheduled_job_falls_due(live_broker: Broker) -> None:
    consumer = Consumer(live_broker, worker_id="w", max_block_s=4)
    producer = Producer(live_broker)
    await producer.submit(_request(delay_s=0.3))
    started = time.monotonic()
    batch = await consumer.claim("q", 1, block_s=10)
    assert len(batch.jobs) == 1
    assert 0.25 <= time.monotonic() - started < 5


async def test_blocking_claim_returns_empty_after_block_s(live_broker: Broker) -> None:
    consumer = Consumer(live_broker, worker_id="w")
    started = time.monotonic()
    batch = await consumer.claim("q", 1, block_s=0.2)
    assert batch.jobs == [] and time.monotonic() - started >= 0.2


async def test_paused_queue_hands_out_nothing_until_resumed(live_broker: Broker) -> None:
    consumer = Consumer(live_broker, worker_id="w", max_block_s=4)
    admin, producer, reader = QueueAdmin(live_broker), Producer(live_broker), Reader(live_broker)
    await admin.pause("q")
    await producer.submit(_request())
    batch = await consumer.claim("q", 1)
    assert batch.paused and batch.jobs == []
    assert (await reader.queue_stats("q")).paused
    waiter = asyncio.create_task(consumer.claim("q", 1, block_s=20))
    await asyncio.sleep(0.3)
    assert not waiter.done()
    await admin.resume("q")
    assert len((await asyncio.wait_for(waiter, 5)).jobs) == 1


def _request(delay_s: float = 0.0) -> JobRequest:
    return JobRequest(task="echo", queue="q", delay_s=delay_s)


async def test_a_block_shorter_than_a_millisecond_never_blocks_forever(live_broker: Broker) -> None:
    consumer = Consumer(live_broker, worker_id="w")
    for block_s in (0.0004, 0.001, 0.0099, 0.011):
        batch = await asyncio.wait_for(consumer.claim("q", 1, block_s=block_s), 2)
        assert batch.jobs == []


async def test_claimed_jobs_carry_their_times(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    await kit.submit()
    clock.advance(1.5)
    job = await kit.claim_one()
    assert job.started_at_ms == clock.current_ms
    assert job.created_at_ms == job.enqueued_at_ms == clock.current_ms - 1500
    assert job.wait_s == 1.5


async def test_the_next_claim_carries_the_trace_the_last_attempt_left(broker: Broker) -> None:
    kit = make_kit(broker)
    await kit.submit()
    first = await kit.claim_one()
    assert first.previous_attempt_trace is None and first.attempt == 1
    failed = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    await kit.consumer.fail(first, code="boom", message="boom", backoff=Backoff(base_s=0), trace=failed)
    second = await kit.claim_one()
    assert second.previous_attempt_trace == failed and second.attempt == 2
    evicted = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"
    await kit.consumer.release(second, trace=evicted)
    third = await kit.claim_one()
    assert third.previous_attempt_trace == evicted and third.attempt == 3
    await kit.consumer.release(third)  # no trace this time: nothing stale is handed on
    assert (await kit.claim_one()).previous_attempt_trace is None


async def test_a_claim_blocked_while_redis_lost_its_scripts_still_takes_the_job(live_broker: Broker) -> None:
    # The wait and the claim after it go to Redis together; the claim is refused (NOSCRIPT) and runs again.
    consumer = Consumer(live_broker, worker_id="w", max_block_s=4)
    producer = Producer(live_broker)
    await consumer.claim("q", 1)
    waiter = asyncio.create_task(consumer.claim("q", 1, block_s=10))
    await asyncio.sleep(0.3)
    await live_broker.redis.script_flush()
    job_id = (await producer.submit(_request())).id
    batch = await asyncio.wait_for(waiter, 5)
    assert [job.id for job in batch.jobs] == [job_id]


async def test_a_claim_that_waits_first_takes_a_job_that_came_since_at_once(live_broker: Broker) -> None:
    consumer = Consumer(live_broker, worker_id="w", max_block_s=4)
    producer = Producer(live_broker)
    await producer.submit(_request())
    assert len((await consumer.claim("q", 5)).jobs) == 1  # short: the queue is empty now
    later = (await producer.submit(_request())).id
    started = time.monotonic()
    batch = await consumer.claim("q", 5, block_s=3, wait_first=True)
    assert [job.id for job in batch.jobs] == [later]
    assert time.monotonic() - started < 1  # the job's wake token was there: no wait
    started = time.monotonic()
    assert (await consumer.claim("q", 5, block_s=0.3, wait_first=True)).jobs == []
    assert time.monotonic() - started >= 0.3
