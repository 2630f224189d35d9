"""What one submit and a burst of acks cost Redis, counted by Redis itself (``INFO commandstats``).

A submit to a queue the producer has seen is one EVALSHA (no ``SCRIPT EXISTS`` ahead of it, no ``SADD``
of the queue set); acks that arrive together go in one script call; nothing is lost on the way.
"""

from __future__ import annotations

import asyncio

import pytest

from stoker_queue import Broker, LeaseLost, Reader
from stoker_queue import producer as producer_module
from tests.queue.helpers import make_kit


async def _commands(broker: Broker) -> dict[str, int]:
    """Calls per command since the last reset (scripts' own commands counted too)."""
    stats = await broker.redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(s["calls"]) for name, s in stats.items()}


def _sent(calls: dict[str, int]) -> dict[str, int]:
    """The commands a client sends of those a submit could: scripts run, script checks, the queue set."""
    return {name: n for name, n in calls.items() if name.startswith(("evalsha", "eval", "script", "sadd"))}


async def test_a_submit_to_a_known_queue_is_one_evalsha(broker: Broker) -> None:
    kit = make_kit(broker)
    await kit.submit()  # the first names the queue in the queue set
    await broker.redis.config_resetstat()
    for _ in range(20):
        await kit.submit()
    assert _sent(await _commands(broker)) == {"evalsha": 20}
    assert (await Reader(broker).queue_stats("q")).waiting_total == 21


async def test_the_queue_set_is_refreshed_after_it_was_emptied(broker: Broker, monkeypatch: pytest.MonkeyPatch) -> None:
    kit, reader = make_kit(broker), Reader(broker)
    await kit.submit()
    assert await reader.list_queues() == ["q"]
    await broker.redis.flushdb()  # an operator's FLUSHALL, say
    now = producer_module.monotonic()
    await kit.submit()
    assert await reader.list_queues() == []  # the producer told it of "q" less than 10 s ago
    monkeypatch.setattr(producer_module, "monotonic", lambda: now + producer_module.REGISTER_EVERY_S)
    await kit.submit()
    assert await reader.list_queues() == ["q"]


async def test_a_submit_after_redis_lost_its_scripts_loads_them_and_writes_once(broker: Broker) -> None:
    kit = make_kit(broker)
    await kit.submit()
    await broker.redis.script_flush()
    await broker.redis.config_resetstat()
    await kit.submit()
    calls = await _commands(broker)
    assert calls.get("evalsha") == 2  # refused, then run
    assert (await Reader(broker).queue_stats("q")).waiting_total == 2


async def test_acks_that_arrive_together_share_one_script_call(broker: Broker) -> None:
    kit = make_kit(broker)
    ids = [await kit.submit(input=i) for i in range(10)]
    jobs = (await kit.consumer.claim("q", 10)).jobs
    await broker.redis.config_resetstat()
    await asyncio.gather(*(kit.consumer.ack(job, {"n": i}) for i, job in enumerate(jobs)))
    # The first ack leaves alone (nothing waits for company); the nine that came meanwhile go together.
    assert (await _commands(broker)).get("evalsha") == 2
    for i, job_id in enumerate(ids):
        assert await kit.reader.get_result(job_id) == {"n": i}


async def test_a_lost_lease_in_a_shared_ack_fails_that_ack_alone(broker: Broker) -> None:
    kit = make_kit(broker)
    for i in range(3):
        await kit.submit(input=i)
    first, second, third = (await kit.consumer.claim("q", 3)).jobs
    await kit.producer.cancel(second.id)  # a running job: only flagged
    await kit.consumer.canceled(second)  # the handler stopped: this claim is over
    outcomes = await asyncio.gather(
        *(kit.consumer.ack(job, "done") for job in (first, second, third)), return_exceptions=True
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], LeaseLost)
    assert await kit.reader.get_result(first.id) == "done"
    assert await kit.reader.get_result(third.id) == "done"
