"""The races that matter, run for real: concurrent claimers, cancel against claim."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from stoker_queue import Broker, Consumer, JobRequest, JobStatus, Producer, Reader

pytestmark = pytest.mark.every_redis  # the protocol, also on a Redis Cluster and a TLS Redis


async def test_many_claimers_never_share_a_job(live_broker: Broker) -> None:
    producer = Producer(live_broker)
    submitted = await producer.submit_many([JobRequest(task="echo", queue="q") for _ in range(300)])
    consumers = [Consumer(live_broker, worker_id=f"w{i}") for i in range(8)]
    claimed: list[str] = []

    async def drain(consumer: Consumer) -> None:
        while jobs := (await consumer.claim("q", 3)).jobs:
            claimed.extend(j.id for j in jobs)

    await asyncio.gather(*(drain(c) for c in consumers))
    assert Counter(claimed) == Counter(s.id for s in submitted)


async def test_blocked_claimers_share_a_burst_exactly_once(live_broker: Broker) -> None:
    producer = Producer(live_broker)
    consumers = [Consumer(live_broker, worker_id=f"w{i}", max_block_s=4) for i in range(6)]
    claimed: list[str] = []

    async def work(consumer: Consumer) -> None:
        # Blocked well past the burst's arrival: a first submit on a cluster client (slot map, script
        # loads on each node) can take a while on a busy machine.
        while jobs := (await consumer.claim("q", 1, block_s=2)).jobs:
            claimed.extend(j.id for j in jobs)

    workers = [asyncio.create_task(work(c)) for c in consumers]
    await asyncio.sleep(0.1)
    submitted = await producer.submit_many([JobRequest(task="echo", queue="q") for _ in range(120)])
    await asyncio.gather(*workers)
    assert Counter(claimed) == Counter(s.id for s in submitted)


async def test_cancel_against_claim_exactly_one_wins(live_broker: Broker) -> None:
    producer, reader = Producer(live_broker), Reader(live_broker)
    consumer = Consumer(live_broker, worker_id="w")
    submitted = await producer.submit_many([JobRequest(task="echo", queue="q") for _ in range(100)])

    async def claim_all() -> list[str]:
        ids: list[str] = []
        while jobs := (await consumer.claim("q", 1)).jobs:
            ids.extend(j.id for j in jobs)
        return ids

    async def cancel_all() -> list[JobStatus]:
        return [await producer.cancel(s.id) for s in reversed(submitted)]

    claimed, cancel_results = await asyncio.gather(claim_all(), cancel_all())
    claimed_set = set(claimed)
    for s, result in zip(reversed(submitted), cancel_results, strict=True):
        job = await reader.get_job(s.id)
        if s.id in claimed_set:
            # Claimed first: the cancel became a request the worker will see.
            assert result is JobStatus.RUNNING and job.status is JobStatus.RUNNING and job.cancel_requested
        else:
            assert result is JobStatus.CANCELED and job.status is JobStatus.CANCELED
