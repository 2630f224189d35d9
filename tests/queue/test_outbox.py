"""The webhook outbox: filled by the finishing scripts, taken with a visibility timeout."""

from __future__ import annotations

import json
from typing import Any

from stoker_queue import Broker, FakeClock, JobStatus, WebhookOutbox, WebhookSpec
from stoker_queue.keys import QueueKeys
from stoker_queue.outbox import WEBHOOK_ERROR_MAX
from tests.queue.helpers import make_kit

HOOK = WebhookSpec(url="https://hooks.example.com/x")


async def test_finished_jobs_with_a_webhook_enter_the_outbox(broker: Broker, clock: FakeClock) -> None:
    kit, outbox = make_kit(broker), WebhookOutbox(broker)
    hooked = await kit.submit(webhook=HOOK)
    await kit.submit()  # no webhook: never in the outbox
    canceled = await kit.submit(webhook=HOOK)
    await kit.consumer.ack(await kit.claim_one(), "out")
    await kit.producer.cancel(canceled)
    await kit.consumer.ack(await kit.claim_one(), "out")
    taken = await outbox.take("q", 10, visibility_s=30)
    assert {(p.job.id, p.job.status, p.attempt) for p in taken} == {
        (hooked, JobStatus.SUCCEEDED, 1),
        (canceled, JobStatus.CANCELED, 1),
    }
    assert await outbox.take("q", 10, visibility_s=30) == []  # hidden while being delivered


async def test_a_dead_deliverer_leaves_the_job_due_again(broker: Broker, clock: FakeClock) -> None:
    kit, outbox = make_kit(broker), WebhookOutbox(broker)
    job_id = await kit.submit(webhook=HOOK)
    await kit.consumer.ack(await kit.claim_one(), None)
    assert [p.attempt for p in await outbox.take("q", 1, visibility_s=30)] == [1]
    clock.advance(30)
    again = await outbox.take("q", 1, visibility_s=30)
    assert [(p.job.id, p.attempt) for p in again] == [(job_id, 2)]


async def test_retry_later_and_done(broker: Broker, clock: FakeClock) -> None:
    kit, outbox = make_kit(broker), WebhookOutbox(broker)
    job_id = await kit.submit(webhook=HOOK)
    await kit.consumer.fail(await kit.claim_one(), code="x", message="y", retry=False)
    (pending,) = await outbox.take("q", 1, visibility_s=30)
    assert pending.job.status is JobStatus.FAILED
    await outbox.retry_in(pending, 5, error="HTTP 500")
    clock.advance(4.9)
    assert await outbox.take("q", 1, visibility_s=30) == []
    clock.advance(0.1)
    (pending,) = await outbox.take("q", 1, visibility_s=30)
    assert pending.job.id == job_id
    await outbox.delivered(pending)
    clock.advance(60)
    assert await outbox.take("q", 1, visibility_s=30) == []
    assert not await outbox.retry_in(pending, 1, error="late")  # a late retry of a finished delivery
    clock.advance(2)
    assert await outbox.take("q", 1, visibility_s=30) == []  # does not bring it back


async def _record(broker: Broker, job_id: str) -> dict[str, Any]:
    """The job's record, straight from the state hash: the fields the API shows."""
    raw = await broker.redis.hget(QueueKeys("q").state, job_id)
    assert raw is not None
    record: dict[str, Any] = json.loads(raw)
    return record


def _delivery(record: dict[str, Any]) -> tuple[object, object, object]:
    return record.get("webhook_state"), record.get("webhook_attempts"), record.get("webhook_error")


async def test_a_finished_job_with_a_webhook_is_pending(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    hooked, plain = await kit.submit(webhook=HOOK), await kit.submit()
    await kit.consumer.ack(await kit.claim_one(), "out")
    await kit.consumer.ack(await kit.claim_one(), "out")
    assert _delivery(await _record(broker, hooked)) == ("pending", 0, None)
    assert _delivery(await _record(broker, plain)) == (None, None, None)


async def test_each_outcome_is_recorded_on_the_job(broker: Broker, clock: FakeClock) -> None:
    kit, outbox = make_kit(broker), WebhookOutbox(broker)
    ids = [await kit.submit(webhook=HOOK) for _ in range(3)]
    for _ in ids:
        await kit.consumer.ack(await kit.claim_one(), "out")
    delivered, failed, refused = sorted(await outbox.take("q", 10, visibility_s=30), key=lambda p: ids.index(p.job.id))
    assert await outbox.delivered(delivered)
    assert await outbox.retry_in(failed, 5, error="HTTP 503")
    assert _delivery(await _record(broker, failed.job.id)) == ("pending", 1, "HTTP 503")
    clock.advance(5)
    (again,) = await outbox.take("q", 10, visibility_s=30)
    assert await outbox.failed(again, error="ConnectError: connection refused")
    assert await outbox.refused(refused, error="'hooks.example.com' resolves to internal address 10.0.0.1")
    assert _delivery(await _record(broker, delivered.job.id)) == ("delivered", 1, None)
    assert _delivery(await _record(broker, failed.job.id)) == ("failed", 2, "ConnectError: connection refused")
    assert _delivery(await _record(broker, refused.job.id)) == (
        "refused",
        1,
        "'hooks.example.com' resolves to internal address 10.0.0.1",
    )
    clock.advance(3600)
    assert await outbox.take("q", 10, visibility_s=30) == []  # settled ones left the outbox
    job = await kit.reader.get_job(failed.job.id)
    assert job.status is JobStatus.SUCCEEDED  # the job itself is untouched


async def test_errors_are_kept_short(broker: Broker, clock: FakeClock) -> None:
    kit, outbox = make_kit(broker), WebhookOutbox(broker)
    job_id = await kit.submit(webhook=HOOK)
    await kit.consumer.ack(await kit.claim_one(), "out")
    (pending,) = await outbox.take("q", 1, visibility_s=30)
    await outbox.failed(pending, error="x" * 5000)
    _, _, error = _delivery(await _record(broker, job_id))
    assert isinstance(error, str) and 0 < len(error) <= WEBHOOK_ERROR_MAX


async def test_a_skipped_delivery_leaves_no_state(broker: Broker, clock: FakeClock) -> None:
    kit, outbox = make_kit(broker), WebhookOutbox(broker)
    job_id = await kit.submit(webhook=HOOK)
    await kit.consumer.ack(await kit.claim_one(), "out")
    (pending,) = await outbox.take("q", 1, visibility_s=30)
    assert await outbox.skip(pending)  # the webhook does not ask for this status
    assert _delivery(await _record(broker, job_id)) == (None, None, None)
    assert await outbox.take("q", 1, visibility_s=30) == []


async def test_only_the_latest_taker_settles(broker: Broker, clock: FakeClock) -> None:
    kit, outbox = make_kit(broker), WebhookOutbox(broker)
    job_id = await kit.submit(webhook=HOOK)
    await kit.consumer.ack(await kit.claim_one(), "out")
    (slow,) = await outbox.take("q", 1, visibility_s=30)
    clock.advance(30)  # the first taker overran its visibility timeout: the job is taken again
    (current,) = await outbox.take("q", 1, visibility_s=30)
    assert not await outbox.failed(slow, error="ReadTimeout")  # a late answer changes nothing
    assert not await outbox.retry_in(slow, 1, error="ReadTimeout")
    assert _delivery(await _record(broker, job_id)) == ("pending", 2, None)
    assert await outbox.delivered(current)
    assert not await outbox.delivered(current)  # settled once
    assert _delivery(await _record(broker, job_id)) == ("delivered", 2, None)


async def test_a_retried_job_that_ends_again_is_pending_again(broker: Broker, clock: FakeClock) -> None:
    kit, outbox = make_kit(broker), WebhookOutbox(broker)
    job_id = await kit.submit(webhook=HOOK)
    await kit.consumer.fail(await kit.claim_one(), code="x", message="y", retry=False)
    (first,) = await outbox.take("q", 1, visibility_s=30)
    await outbox.failed(first, error="HTTP 500")
    await kit.producer.retry(job_id)
    await kit.consumer.ack(await kit.claim_one(), "out")
    assert _delivery(await _record(broker, job_id)) == ("pending", 0, None)
    assert not await outbox.delivered(first)  # the first ending's delivery is over
    (second,) = await outbox.take("q", 1, visibility_s=30)
    assert second.job.status is JobStatus.SUCCEEDED and second.attempt == 1
