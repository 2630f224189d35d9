"""The scheduler and its tick script on real Redis: one job per tick however many race, no burst after a
gap, idempotent retries, paused queues, schedules that go away, and bad entries that harm no other."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from stoker_queue import (
    Broker,
    FakeClock,
    JobStatus,
    QueueAdmin,
    Reader,
    RedisSettings,
    Registry,
    Schedule,
    Scheduler,
    TaskInfo,
    Tick,
)
from stoker_queue.ids import scheduled_job_id
from stoker_queue.keys import SCHEDULES_KEY, TASKS_KEY, QueueKeys
from stoker_queue.schedules import ScheduledTask, ms_to_utc
from stoker_queue.scripts import ScheduleTick

EVERY_S = 10


async def _publish(broker: Broker, schedule: Schedule | None = None, name: str = "poll") -> None:
    default = Schedule(every_s=EVERY_S, input={"url": "http://status"})
    await Registry(broker).publish_tasks([TaskInfo(name=name, queue="q", max_attempts=2, schedule=schedule or default)])


async def _job_ids(broker: Broker, queue: str = "q") -> list[str]:
    return [str(i) for i in await broker.redis.zrange(QueueKeys(queue).index, 0, -1)]


def _to_next_tick(clock: FakeClock, every_s: int = EVERY_S, past_s: float = 0.0) -> int:
    """Move the clock to the next multiple of ``every_s`` (plus ``past_s``); returns that tick in ms."""
    every_ms = every_s * 1000
    tick = clock.current_ms - clock.current_ms % every_ms + every_ms
    clock.current_ms = tick + round(past_s * 1000)
    return tick


async def test_a_new_schedule_waits_for_its_next_tick(broker: Broker, clock: FakeClock) -> None:
    clock.advance(3)
    await _publish(broker)
    report = await Scheduler(broker).run_once()
    assert report.ticks == ()
    assert await _job_ids(broker) == []
    (listed,) = await Scheduler(broker).list_schedules()
    assert listed.next_run_at == ms_to_utc(clock.current_ms - 3000 + EVERY_S * 1000)
    assert listed.last_run_at is None and listed.last_job_id is None
    assert report.wait_s == pytest.approx(5.0)  # 7 s to the tick: the most it sleeps before looking again
    clock.advance(4)
    assert (await Scheduler(broker).run_once()).wait_s == pytest.approx(3.002)  # to the tick, and just past


async def test_a_due_tick_enqueues_one_job_with_the_schedules_input(broker: Broker, clock: FakeClock) -> None:
    await _publish(broker)
    scheduler = Scheduler(broker)
    await scheduler.run_once()
    tick = _to_next_tick(clock, past_s=0.004)
    (fired,) = (await scheduler.run_once()).ticks
    assert fired == Tick(
        task="poll", queue="q", outcome="fired", tick_at=ms_to_utc(tick), job_id=scheduled_job_id("q", "poll", tick)
    )
    assert (await scheduler.run_once()).ticks == ()  # the same tick again: taken already
    assert fired.job_id is not None and await _job_ids(broker) == [fired.job_id]
    job = await Reader(broker).get_job(fired.job_id)
    assert job.status is JobStatus.QUEUED and job.task == "poll" and job.envelope.input == {"url": "http://status"}
    assert job.envelope.max_attempts == 2
    assert job.metadata == {"schedule": "poll", "tick": ms_to_utc(tick).isoformat()}
    assert "q" in await Reader(broker).list_queues()  # the reapers and the listings find the queue
    (listed,) = await scheduler.list_schedules()
    assert listed.last_run_at == ms_to_utc(tick) and listed.last_job_id == fired.job_id
    assert listed.next_run_at == ms_to_utc(tick + EVERY_S * 1000) and listed.last_outcome == "fired"


async def test_twenty_racing_schedulers_enqueue_one_job_per_tick(any_redis: RedisSettings, clock: FakeClock) -> None:
    brokers = [Broker.from_settings(any_redis, clock=clock) for _ in range(20)]
    try:
        await brokers[0].redis.flushdb()
        await _publish(brokers[0])
        schedulers = [Scheduler(b) for b in brokers]
        await schedulers[0].run_once()
        for _ in range(5):
            _to_next_tick(clock, past_s=0.001)
            reports = await asyncio.gather(*(s.run_once() for s in schedulers))
            assert sum(len(r.ticks) for r in reports) == 1
        ids = await _job_ids(brokers[0])
        assert len(ids) == 5 == len(set(ids))
    finally:
        for b in brokers:
            await b.close()


async def test_of_twenty_calls_from_the_same_state_one_takes_the_tick(
    any_redis: RedisSettings, clock: FakeClock
) -> None:
    """The compare-and-set itself: every caller read the same state before any of them wrote."""
    brokers = [Broker.from_settings(any_redis, clock=clock) for _ in range(20)]
    try:
        await brokers[0].redis.flushdb()
        await _publish(brokers[0])
        await Scheduler(brokers[0]).run_once()
        q = QueueKeys("q")
        seen = await brokers[0].redis.hget(q.schedules, "poll")
        tick = _to_next_tick(clock)
        entry = ScheduledTask.model_validate_json(await brokers[0].redis.hget(SCHEDULES_KEY, "poll"))
        job = Scheduler(brokers[0]).job_for(entry, tick)
        call = ScheduleTick("poll", seen, "every 10s", tick + EVERY_S * 1000, tick, job)
        replies = await asyncio.gather(*(b.scripts.schedule_tick(q, clock.current_ms, call) for b in brokers))
        assert sorted(outcome for outcome, _ in replies) == ["fired"] + ["stale"] * 19
        assert await _job_ids(brokers[0]) == [job.id]
    finally:
        for b in brokers:
            await b.close()


async def test_after_a_long_gap_only_the_latest_missed_tick_fires(
    broker: Broker, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await _publish(broker)
    scheduler = Scheduler(broker)
    await scheduler.run_once()
    _to_next_tick(clock)
    await scheduler.run_once()
    clock.advance(3600 + 3)  # nothing ran for an hour: 360 ticks went by
    latest = clock.current_ms - clock.current_ms % (EVERY_S * 1000)
    with caplog.at_level(logging.INFO, logger="stoker_queue.scheduler"):
        (fired,) = (await scheduler.run_once()).ticks
    assert fired.tick_at == ms_to_utc(latest)
    assert "were missed" in caplog.text
    assert len(await _job_ids(broker)) == 2
    (listed,) = await scheduler.list_schedules()
    assert listed.next_run_at == ms_to_utc(latest + EVERY_S * 1000)  # the first tick in the future
    _to_next_tick(clock)
    assert len((await scheduler.run_once()).ticks) == 1  # and on it goes, one per tick
    assert len(await _job_ids(broker)) == 3


async def test_a_retried_tick_never_enqueues_a_second_job(broker: Broker, clock: FakeClock) -> None:
    await _publish(broker)
    scheduler = Scheduler(broker)
    await scheduler.run_once()
    q = QueueKeys("q")
    before = await broker.redis.hget(q.schedules, "poll")
    tick = _to_next_tick(clock)
    (fired,) = (await scheduler.run_once()).ticks
    # A retry of that call (its reply was lost) finds the state moved on and writes nothing.
    entry = ScheduledTask.model_validate_json(await broker.redis.hget(SCHEDULES_KEY, "poll"))
    call = ScheduleTick("poll", before, "every 10s", tick + EVERY_S * 1000, tick, scheduler.job_for(entry, tick))
    assert await broker.scripts.schedule_tick(q, clock.current_ms, call) == ("stale", "")
    # Even with the state rolled back (a failover that lost the write), the tick's job id is taken.
    await broker.redis.hset(q.schedules, "poll", before)
    assert (await scheduler.run_once()).ticks == ()
    assert await _job_ids(broker) == [fired.job_id]
    (listed,) = await scheduler.list_schedules()
    assert listed.last_job_id == fired.job_id and listed.next_run_at == ms_to_utc(tick + EVERY_S * 1000)


async def test_a_paused_queue_skips_its_ticks_and_takes_the_next_after_resume(broker: Broker, clock: FakeClock) -> None:
    await _publish(broker)
    scheduler = Scheduler(broker)
    await scheduler.run_once()
    await QueueAdmin(broker).pause("q")
    for _ in range(3):
        _to_next_tick(clock)
        (skipped,) = (await scheduler.run_once()).ticks
        assert skipped.outcome == "skipped" and skipped.job_id is None
    (listed,) = await scheduler.list_schedules()
    assert listed.paused and listed.last_outcome == "skipped"
    assert await _job_ids(broker) == []  # nothing piled up to run in a burst on resume
    await QueueAdmin(broker).resume("q")
    _to_next_tick(clock)
    (fired,) = (await scheduler.run_once()).ticks
    assert fired.outcome == "fired" and await _job_ids(broker) == [fired.job_id]


async def test_a_task_removed_from_the_catalog_stops_firing(broker: Broker, clock: FakeClock) -> None:
    await _publish(broker)
    await _publish(broker, Schedule(every_s=EVERY_S), name="other")
    scheduler = Scheduler(broker)
    await scheduler.run_once()
    assert await Registry(broker).remove_task("poll")
    assert [s.name for s in await scheduler.list_schedules()] == ["other"]
    assert await broker.redis.hget(QueueKeys("q").schedules, "poll") is None  # added again, it starts afresh
    _to_next_tick(clock)
    assert [t.task for t in (await scheduler.run_once()).ticks] == ["other"]


async def test_a_task_published_again_without_its_schedule_stops_firing(broker: Broker, clock: FakeClock) -> None:
    await _publish(broker)
    scheduler = Scheduler(broker)
    await scheduler.run_once()
    await Registry(broker).publish_tasks([TaskInfo(name="poll", queue="q")])
    assert await scheduler.list_schedules() == []
    _to_next_tick(clock)
    assert (await scheduler.run_once()).ticks == ()
    assert await _job_ids(broker) == []


async def test_a_changed_timing_starts_at_its_own_next_tick(broker: Broker, clock: FakeClock) -> None:
    await _publish(broker)
    scheduler = Scheduler(broker)
    await scheduler.run_once()
    clock.advance(EVERY_S * 3)  # due under the old timing
    await _publish(broker, Schedule(cron="0 * * * *"))
    assert (await scheduler.run_once()).ticks == ()  # the new timing starts afresh, with no tick
    (listed,) = await scheduler.list_schedules()
    hour = 3_600_000
    assert listed.cron == "0 * * * *" and listed.next_run_at == ms_to_utc(clock.current_ms // hour * hour + hour)
    clock.current_ms = clock.current_ms // hour * hour + hour
    assert len((await scheduler.run_once()).ticks) == 1


async def test_a_schedule_on_its_own_queue_enqueues_there(broker: Broker, clock: FakeClock) -> None:
    await _publish(broker, Schedule(every_s=EVERY_S, queue="reports", priority="high"))
    scheduler = Scheduler(broker)
    await scheduler.run_once()
    _to_next_tick(clock)
    (fired,) = (await scheduler.run_once()).ticks
    assert fired.queue == "reports" and await _job_ids(broker, "reports") == [fired.job_id]
    assert fired.job_id is not None and (await Reader(broker).get_job(fired.job_id)).priority.value == "high"


async def test_an_unreadable_schedule_is_logged_once_and_harms_no_other(
    broker: Broker, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await _publish(broker)
    await broker.redis.hset(TASKS_KEY, "broken", TaskInfo(name="broken", queue="q").model_dump_json())
    await broker.redis.hset(SCHEDULES_KEY, "broken", '{"task": "broken"}')
    scheduler = Scheduler(broker)
    await scheduler.run_once()
    await broker.redis.hset(QueueKeys("q").schedules, "poll", "not json")  # a state that does not parse
    with caplog.at_level(logging.ERROR, logger="stoker_queue.scheduler"):
        for _ in range(3):
            _to_next_tick(clock)
            await scheduler.run_once()
    assert caplog.text.count("schedule of task broken cannot be read") == 1
    assert len(await _job_ids(broker)) == 2  # restarted on the bad state, then one job per tick
    assert [s.name for s in await scheduler.list_schedules()] == ["poll"]


async def test_the_loop_takes_ticks_on_redis_time_until_closed(live_broker: Broker) -> None:
    await Registry(live_broker).publish_tasks([TaskInfo(name="beat", queue="q", schedule=Schedule(every_s=1))])
    closing, ticks = asyncio.Event(), []
    loop = asyncio.create_task(Scheduler(live_broker).run(closing, ticks.append))
    deadline = asyncio.get_running_loop().time() + 10
    while len(ticks) < 2:
        assert asyncio.get_running_loop().time() < deadline, ticks
        await asyncio.sleep(0.05)
    closing.set()
    await asyncio.wait_for(loop, 2)
    assert all(t.tick_at.microsecond == 0 and t.outcome == "fired" for t in ticks)
    assert (ticks[1].tick_at - ticks[0].tick_at).total_seconds() == 1
    assert ticks[0].tick_at <= datetime.now(UTC)
