"""Reads: job records, listings newest first with cursors, queue counts."""

from __future__ import annotations

import pytest

from stoker_queue import Broker, FakeClock, InvalidJobId, InvalidQueueName, JobRequest, JobStatus, Priority
from tests.queue.helpers import make_kit

pytestmark = pytest.mark.every_redis  # the protocol, also on a Redis Cluster and a TLS Redis


async def test_list_is_newest_first_with_a_cursor(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    ids = []
    for _ in range(7):
        ids.append(await kit.submit())
        clock.advance(0.001)  # ids are ordered by their millisecond
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = await kit.reader.list_jobs(queue="q", cursor=cursor, limit=3)
        seen += [j.id for j in page]
        if cursor is None:
            break
        assert len(page) == 3
    assert seen == list(reversed(ids))


async def test_list_filters_by_status(broker: Broker) -> None:
    kit = make_kit(broker)
    queued = await kit.submit()
    running = await kit.submit()
    await kit.claim_one()
    page, cursor = await kit.reader.list_jobs(queue="q", status=JobStatus.QUEUED)
    assert [j.id for j in page] == [running] and cursor is None
    page, _ = await kit.reader.list_jobs(queue="q", status=JobStatus.RUNNING)
    assert [j.id for j in page] == [queued]
    assert (await kit.reader.list_jobs(queue="q", status=JobStatus.FAILED))[0] == []


async def test_list_across_queues_merges_by_time(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    order = []
    for queue in ("a", "b", "a", "c", "b", "c"):
        order.append(await kit.submit(queue=queue))
        clock.advance(0.001)
    page, cursor = await kit.reader.list_jobs(limit=4)
    rest, end = await kit.reader.list_jobs(limit=4, cursor=cursor)
    assert [j.id for j in page + rest] == list(reversed(order)) and end is None


async def test_list_rejects_a_bad_queue_name(broker: Broker) -> None:
    with pytest.raises(InvalidQueueName):
        await make_kit(broker).reader.list_jobs(queue="No")


async def test_bad_job_ids_are_refused(broker: Broker) -> None:
    kit = make_kit(broker)
    for bad in ("", "nodot", "q.short", "Q.01JDX3K0000000000000000000", "q.01JDX3K000000000000000000!"):
        with pytest.raises(InvalidJobId):
            await kit.reader.get_job(bad)


async def test_stats_count_and_age_the_oldest_waiting_job(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    empty = await kit.reader.queue_stats("q")
    assert empty.waiting_total == 0 and empty.oldest_waiting_age_s is None
    await kit.submit(priority=Priority.LOW)
    clock.advance(4)
    await kit.submit(priority=Priority.HIGH)
    await kit.submit()
    await kit.submit(delay_s=60)
    await kit.claim_one()  # the high one
    failing = await kit.claim_one()
    await kit.consumer.fail(failing, code="x", message="y", retry=False)
    clock.advance(1.5)
    stats = await kit.reader.queue_stats("q")
    assert stats.waiting == {Priority.HIGH: 0, Priority.NORMAL: 0, Priority.LOW: 1}
    assert (stats.scheduled, stats.running, stats.dead, stats.paused) == (1, 1, 1, False)
    assert stats.oldest_waiting_age_s == 5.5


async def test_job_record_shows_attempts_and_timings(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    job_id = await kit.submit(input={"a": 1})
    clock.advance(2)
    job = await kit.claim_one()
    clock.advance(3)
    await kit.consumer.ack(job, {"b": 2})
    record = await kit.reader.get_job(job_id)
    assert record.timings.wait_s == 2 and record.timings.run_s == 3 and record.timings.total_s == 5
    assert record.started_at is not None and record.finished_at is not None
    assert (record.finished_at - record.created_at).total_seconds() == 5


async def test_submit_many_of_nothing_is_nothing(broker: Broker) -> None:
    assert await make_kit(broker).producer.submit_many([]) == []


async def test_submissions_keep_their_options(broker: Broker) -> None:
    kit = make_kit(broker)
    sub = await kit.producer.submit(
        JobRequest(
            task="t", queue="q", priority=Priority.HIGH, max_attempts=7, timeout_s=1.5, trace={"traceparent": "x"}
        )
    )
    env = (await kit.reader.get_job(sub.id)).envelope
    assert (env.priority, env.max_attempts, env.timeout_s, env.trace) == (Priority.HIGH, 7, 1.5, {"traceparent": "x"})


async def test_list_filters_by_task_across_scans(broker: Broker, clock: FakeClock) -> None:
    kit = make_kit(broker)
    wanted = []
    for i in range(250):
        job_id = await kit.submit(task="embed" if i % 50 == 0 else "echo")
        if i % 50 == 0:
            wanted.append(job_id)
        clock.advance(0.001)
    page, cursor = await kit.reader.list_jobs(task="embed", limit=3)
    rest, end = await kit.reader.list_jobs(task="embed", limit=3, cursor=cursor)
    assert [j.id for j in page + rest] == list(reversed(wanted))
    assert cursor is not None and end is None
    assert (await kit.reader.list_jobs(task="nothing"))[0] == []
