"""A worker claims only the tasks it serves: a job of another task waits, in its place and uncharged,
for a worker that serves it (a rolling update that adds a task to a busy queue fails nothing)."""

from __future__ import annotations

import asyncio

from stoker_queue import Broker, Consumer, JobStatus
from stoker_queue.keys import QueueKeys
from tests.queue.helpers import make_kit, structures


async def test_a_job_of_a_task_the_worker_lacks_stays_in_its_place(broker: Broker) -> None:
    kit = make_kit(broker)
    old = Consumer(broker, worker_id="old", tasks=["a"])
    first_a = await kit.submit(task="a")
    new_task = await kit.submit(task="b")
    second_a = await kit.submit(task="a")
    batch = await old.claim("q", 5)
    assert [j.id for j in batch.jobs] == [first_a, second_a]
    assert (await structures(broker))["waiting:normal"] == [new_task]
    record = await kit.reader.get_job(new_task)
    assert record.status is JobStatus.QUEUED and record.worker is None
    assert (record.attempts.error, record.attempts.crash, record.attempts.evicted) == (0, 0, 0)
    new = Consumer(broker, worker_id="new", tasks=["a", "b"])
    assert [j.id for j in (await new.claim("q", 5)).jobs] == [new_task]


async def test_passed_over_jobs_keep_their_order_ahead_of_later_ones(broker: Broker) -> None:
    kit = make_kit(broker)
    old = Consumer(broker, worker_id="old", tasks=["a"])
    b1, b2 = await kit.submit(task="b"), await kit.submit(task="b")
    assert (await old.claim("q", 5)).jobs == []
    b3 = await kit.submit(task="b")
    new = Consumer(broker, worker_id="new", tasks=["b"])
    assert [j.id for j in (await new.claim("q", 5)).jobs] == [b1, b2, b3]


async def test_workers_without_the_task_do_not_wake_each_other(broker: Broker) -> None:
    kit = make_kit(broker)
    await kit.submit(task="b")  # the enqueue leaves one wake-up for a blocked claimer
    q = QueueKeys("q")
    await broker.redis.delete(q.wake)
    old = Consumer(broker, worker_id="old", tasks=["a"])
    assert (await old.claim("q", 1)).jobs == []
    assert await broker.redis.llen(q.wake) == 0  # nothing to spin on
    # A blocking claim by a worker that lacks the task waits out its time instead of looping.
    calls = 0
    original = broker.scripts.claim

    async def counting(*args: object, **kw: object) -> list[object]:
        nonlocal calls
        calls += 1
        return await original(*args, **kw)  # type: ignore[arg-type]

    broker.scripts.claim = counting  # type: ignore[method-assign]
    started = asyncio.get_running_loop().time()
    assert (await old.claim("q", 1, block_s=0.3)).jobs == []
    assert asyncio.get_running_loop().time() - started >= 0.25
    assert calls <= 3


async def test_a_consumer_without_a_task_list_claims_every_task(broker: Broker) -> None:
    kit = make_kit(broker)
    ids = [await kit.submit(task=t) for t in ("a", "b", "c")]
    assert [j.id for j in (await kit.consumer.claim("q", 5)).jobs] == ids
