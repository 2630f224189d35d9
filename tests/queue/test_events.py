"""Every state change is published; watchers get their job's events and nobody else's."""

from __future__ import annotations

import asyncio

import pytest

from stoker_queue import Broker, JobEvents, JobStatus
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
