"""The webhook outbox: filled by the finishing scripts, taken with a visibility timeout."""

from __future__ import annotations

from stoker_queue import Broker, FakeClock, JobStatus, WebhookOutbox, WebhookSpec
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
    await outbox.retry_in(job_id, 5)
    clock.advance(4.9)
    assert await outbox.take("q", 1, visibility_s=30) == []
    clock.advance(0.1)
    (pending,) = await outbox.take("q", 1, visibility_s=30)
    await outbox.done(job_id)
    clock.advance(60)
    assert await outbox.take("q", 1, visibility_s=30) == []
    await outbox.retry_in(job_id, 1)  # a late retry of a finished delivery does not bring it back
    clock.advance(2)
    assert await outbox.take("q", 1, visibility_s=30) == []
