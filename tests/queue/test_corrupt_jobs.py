"""A corrupt job record never stops its queue: a claim dead-letters it with a clear error and goes on to
the jobs behind it."""

from __future__ import annotations

import json

import pytest

from stoker_queue import Broker, Consumer, JobNotFound, JobStatus
from stoker_queue.keys import QueueKeys
from tests.queue.helpers import make_kit, structures

Q = QueueKeys("q")


async def _corrupt(broker: Broker, field: str, job_id: str, value: bytes | str) -> None:
    await broker.redis.hset(getattr(Q, field), job_id, value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("state", "not json at all"),
        ("state", '{"status": "queued"}'),  # JSON, but none of what a claim reads
        ("state", json.dumps([1, 2, 3])),
        ("jobs", "{truncated"),
        ("jobs", b"\xff\xfe\x00"),  # not even UTF-8
        ("jobs", json.dumps({"id": 3, "task": None})),
    ],
    ids=[
        "state-garbage",
        "state-fields-missing",
        "state-a-list",
        "envelope-garbage",
        "envelope-bytes",
        "envelope-wrong-shape",
    ],
)
async def test_a_corrupt_record_is_dead_lettered_and_the_claim_goes_on(broker: Broker, field: str, value: str) -> None:
    kit = make_kit(broker)
    bad = await kit.submit(input="bad")
    good = await kit.submit(input="good")
    await _corrupt(broker, field, bad, value)
    batch = await kit.consumer.claim("q", 5)
    assert [j.id for j in batch.jobs] == [good]
    where = await structures(broker)
    assert where["dead"] == [bad] and where["waiting:normal"] == [] and where["running"] == [good]
    state = json.loads(await broker.redis.hget(Q.state, bad))
    assert state["status"] == JobStatus.FAILED.value
    assert json.loads(state["error"])["code"] == "corrupt_job"


async def test_a_claim_filtered_by_task_copes_with_a_corrupt_envelope(broker: Broker) -> None:
    kit = make_kit(broker)
    bad, good = await kit.submit(task="a"), await kit.submit(task="a")
    await _corrupt(broker, "jobs", bad, "{truncated")
    batch = await Consumer(broker, worker_id="w", tasks=["a"]).claim("q", 5)
    assert [j.id for j in batch.jobs] == [good]
    assert (await structures(broker))["dead"] == [bad]


async def test_reading_a_corrupt_job_shows_it_failed_and_says_why(broker: Broker) -> None:
    kit = make_kit(broker)
    bad = await kit.submit(input="bad")
    await _corrupt(broker, "jobs", bad, "{truncated")
    job = await kit.reader.get_job(bad)
    assert job.status is JobStatus.FAILED and job.error is not None and job.error.code == "corrupt_job"
    assert job.owner is None  # no readable owner: only admin keys see it
    with pytest.raises(JobNotFound):
        await kit.reader.get_job(bad, owner="key-someone")
    listed, _ = await kit.reader.list_jobs(queue="q")
    assert [j.id for j in listed] == [bad]
