"""Slots: fair shares of the free ones, and the prefetch that quick handlers earn and slow ones lose."""

from __future__ import annotations

import asyncio

from stoker_worker.slots import Slots


async def test_reserve_takes_a_fair_share_and_waits_when_none_is_free() -> None:
    slots = Slots(4, queues=2)
    assert await slots.reserve() == 2
    assert await slots.reserve() == 1
    assert await slots.reserve() == 1
    waiting = asyncio.ensure_future(slots.reserve())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    slots.give_back(1)
    assert await waiting == 1


async def test_quick_handlers_earn_the_prefetch_and_slow_ones_lose_it() -> None:
    slots = Slots(2, queues=1, prefetch=2, prefetch_below_s=0.05)
    assert slots.limit == 2  # nothing ran yet: no prefetch
    slots.ran(0.001)
    assert slots.limit == 4
    for _ in range(3):
        slots.ran(1.0)  # the running mean passes the bound within a few slow runs
    assert slots.limit == 2


async def test_a_worker_waiting_for_a_slot_wakes_when_the_prefetch_opens() -> None:
    slots = Slots(1, queues=1, prefetch=1, prefetch_below_s=0.05)
    assert await slots.reserve() == 1
    waiting = asyncio.ensure_future(slots.reserve())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    slots.ran(0.001)  # the held job's handler returned quickly; its outcome is still being stored
    assert await asyncio.wait_for(waiting, 1) == 1


async def test_no_prefetch_when_it_is_turned_off() -> None:
    slots = Slots(2, queues=1, prefetch=2, prefetch_below_s=0.0)
    slots.ran(0.0)
    assert slots.limit == 2
