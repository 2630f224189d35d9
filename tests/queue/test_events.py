"""Every state change is published; watchers get their job's events and nobody else's."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from stoker_queue import Broker, JobEvents, JobRequest, JobStatus, RedisSettings
from stoker_queue.keys import QueueKeys
from tests.queue.helpers import make_kit

pytestmark = pytest.mark.every_redis  # the protocol, also on a Redis Cluster and a TLS Redis


async def test_watchers_see_each_change_of_their_job(live_broker: Broker) -> None:
    kit, events = make_kit(live_broker), JobEvents(live_broker)
    job_id = await kit.submit()
    other = await kit.submit()
    try:
        async with events.watch(job_id) as inbox:
            job = await kit.claim_one()
            assert job.id == job_id
            await kit.consumer.progress(job, 0.5, "half")
            await kit.consumer.ack(job, "done")
            await kit.producer.cancel(other)
            seen = [await asyncio.wait_for(inbox.get(), 2) for _ in range(3)]
        assert [(e.status, e.progress, e.message) for e in seen] == [
            (JobStatus.RUNNING, None, None),
            (JobStatus.RUNNING, 0.5, "half"),
            (JobStatus.SUCCEEDED, 0.5, "half"),
        ]
        assert all(e.id == job_id for e in seen) and inbox.empty()
    finally:
        await events.close()


async def test_a_process_hears_only_the_jobs_its_clients_wait_for(any_redis: RedisSettings) -> None:
    """Two processes, each with its own waiters, and jobs nobody waits for: each process hears its own
    jobs' events and nothing else, so its cost follows what its clients wait for, not the traffic."""
    brokers = [Broker.from_settings(any_redis) for _ in range(3)]
    worker, *api = brokers
    await worker.redis.flushdb()
    kit, events = make_kit(worker), [JobEvents(b) for b in api]
    watched = [await kit.submit() for _ in range(20)]
    others = await kit.producer.submit_many([JobRequest(task="echo", queue="busy") for _ in range(200)])
    ended: list[str] = []

    async def wait(n: int, job_id: str) -> None:
        async with events[n % 2].watch(job_id) as inbox:
            ready.release()
            while (await asyncio.wait_for(inbox.get(), 10)).status is not JobStatus.SUCCEEDED:
                pass
            ended.append(job_id)

    ready = asyncio.Semaphore(0)
    try:
        waiters = [asyncio.create_task(wait(n, job_id)) for n, job_id in enumerate(watched)]
        for _ in watched:
            await ready.acquire()
        for queue, count in (("busy", len(others)), ("q", len(watched))):
            for _ in range(count):
                await kit.consumer.ack(await kit.claim_one(queue), None)
        await asyncio.gather(*waiters)
        assert sorted(ended) == sorted(watched)
        assert [e.heard for e in events] == [20, 20]  # running and succeeded of each of its 10 jobs
    finally:
        for e in events:
            await e.close()
        for b in brokers:
            await b.close()


async def test_the_last_watcher_to_leave_unsubscribes(broker: Broker) -> None:
    kit, events = make_kit(broker), JobEvents(broker)
    job_id = await kit.submit()
    channel = QueueKeys("q").job_events(job_id)
    try:
        async with events.watch(job_id), events.watch(job_id) as second:
            assert await _subscribers(broker, channel) == 1  # one subscription per process, not per watcher
            async with events.watch(job_id):
                pass
            await kit.producer.cancel(job_id)
            assert (await asyncio.wait_for(second.get(), 2)).status is JobStatus.CANCELED
        for _ in range(100):
            if await _subscribers(broker, channel) == 0:
                break
            await asyncio.sleep(0.01)
        assert await _subscribers(broker, channel) == 0
    finally:
        await events.close()


async def test_watchers_that_arrive_together_each_hear_the_next_change(broker: Broker) -> None:
    kit, events = make_kit(broker), JobEvents(broker)
    job_id = await kit.submit()
    try:
        async with contextlib.AsyncExitStack() as stack:
            # The later ones join while the first one's subscription is still on its way.
            inboxes = await asyncio.gather(*(stack.enter_async_context(events.watch(job_id)) for _ in range(5)))
            await kit.producer.cancel(job_id)
            for inbox in inboxes:
                assert (await asyncio.wait_for(inbox.get(), 2)).status is JobStatus.CANCELED
    finally:
        await events.close()


async def _subscribers(broker: Broker, channel: str) -> int:
    """Subscribers of ``channel``; a cluster client asks every node and sums."""
    ((_, count),) = await broker.redis.pubsub_numsub(channel)
    return int(count)
