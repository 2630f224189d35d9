"""Tenancy in the queue core: owners on jobs, idempotency keys per owner, conflicts, owner-scoped reads."""

from __future__ import annotations

import json

import pytest

from stoker_queue import Broker, JobNotFound, JobRequest, JobStatus
from stoker_queue.errors import IdempotencyConflict
from stoker_queue.keys import QueueKeys
from tests.queue.helpers import make_kit, structures

pytestmark = pytest.mark.every_redis  # the protocol, also on a Redis Cluster and a TLS Redis


async def test_a_job_records_its_owner(broker: Broker) -> None:
    kit = make_kit(broker)
    job_id = await kit.submit(owner="key-a")
    assert (await kit.reader.get_job(job_id)).owner == "key-a"
    assert (await kit.reader.get_job(job_id, owner="key-a")).id == job_id
    assert (await kit.reader.get_job(await kit.submit())).owner is None


async def test_another_owner_reads_nothing(broker: Broker) -> None:
    kit = make_kit(broker)
    job_id = await kit.submit(owner="key-a")
    with pytest.raises(JobNotFound):
        await kit.reader.get_job(job_id, owner="key-b")
    with pytest.raises(JobNotFound):
        await kit.reader.get_result(job_id, owner="key-b")
    mine = await kit.submit(owner="key-b")
    jobs, _ = await kit.reader.list_jobs(owner="key-b")
    assert [j.id for j in jobs] == [mine]
    everyone, _ = await kit.reader.list_jobs()
    assert {j.id for j in everyone} == {job_id, mine}


async def test_idempotency_keys_are_scoped_per_owner(broker: Broker) -> None:
    kit = make_kit(broker)
    a = await kit.producer.submit(JobRequest(task="echo", queue="q", idempotency_key="k", owner="key-a"))
    b = await kit.producer.submit(JobRequest(task="echo", queue="q", idempotency_key="k", owner="key-b"))
    again = await kit.producer.submit(JobRequest(task="echo", queue="q", idempotency_key="k", owner="key-a"))
    assert a.created and b.created and a.id != b.id
    assert (again.id, again.created) == (a.id, False)


async def test_the_same_key_for_a_different_request_is_a_conflict(broker: Broker) -> None:
    kit = make_kit(broker)
    first = await kit.producer.submit(JobRequest(task="echo", queue="q", input=1, idempotency_key="k", owner="o"))
    with pytest.raises(IdempotencyConflict) as caught:
        await kit.producer.submit(JobRequest(task="echo", queue="q", input=2, idempotency_key="k", owner="o"))
    assert caught.value.idempotency_key == "k"
    same = await kit.producer.submit(JobRequest(task="echo", queue="q", input=1, idempotency_key="k", owner="o"))
    assert (same.id, same.created) == (first.id, False)


async def test_a_conflicting_batch_writes_nothing(broker: Broker) -> None:
    kit = make_kit(broker)
    await kit.producer.submit(JobRequest(task="echo", queue="q", input=1, idempotency_key="k"))
    before = await structures(broker)
    batch = [
        JobRequest(task="echo", queue="q", input=0),
        JobRequest(task="echo", queue="q", input=2, idempotency_key="k"),
    ]
    with pytest.raises(IdempotencyConflict):
        await kit.producer.submit_many(batch)
    assert await structures(broker) == before
    twice = [JobRequest(task="echo", queue="q", input=i, idempotency_key="new") for i in (1, 2)]
    with pytest.raises(IdempotencyConflict):
        await kit.producer.submit_many(twice)  # the same key twice in one batch, for different requests
    assert await structures(broker) == before


async def test_input_that_looks_like_an_envelope_cannot_fake_the_request(broker: Broker) -> None:
    kit = make_kit(broker)
    sneaky = {"schema_version": 1, "request_digest": "0" * 64}
    await kit.producer.submit(JobRequest(task="echo", queue="q", input=sneaky, idempotency_key="k"))
    with pytest.raises(IdempotencyConflict):
        await kit.producer.submit(JobRequest(task="echo", queue="q", input={"x": 1}, idempotency_key="k"))


async def test_jobs_written_before_digests_still_match_their_key(broker: Broker) -> None:
    kit = make_kit(broker)
    old = await kit.producer.submit(JobRequest(task="echo", queue="q", idempotency_key="k"))
    q = QueueKeys("q")
    envelope = json.loads(await broker.redis.hget(q.jobs, old.id))
    del envelope["request_digest"]  # as the previous version wrote it
    await broker.redis.hset(q.jobs, old.id, json.dumps(envelope))
    again = await kit.producer.submit(JobRequest(task="echo", queue="q", input=5, idempotency_key="k"))
    assert (again.id, again.created, again.status) == (old.id, False, JobStatus.QUEUED)


async def test_a_conflict_in_one_queue_of_a_batch_writes_nothing_in_the_others(broker: Broker) -> None:
    kit = make_kit(broker)
    await kit.producer.submit(JobRequest(task="echo", queue="b", input=1, idempotency_key="k", owner="o"))
    batch = [
        JobRequest(task="echo", queue="a", input=0, owner="o"),
        JobRequest(task="echo", queue="b", input=2, idempotency_key="k", owner="o"),
    ]
    with pytest.raises(IdempotencyConflict):
        await kit.producer.submit_many(batch)
    assert await structures(broker, "a") == await structures(broker, "never-used")
