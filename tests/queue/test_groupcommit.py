"""Group commit: an idle call leaves alone and at once, calls that arrive meanwhile share the next send."""

from __future__ import annotations

import asyncio

import pytest

from stoker_queue.groupcommit import GroupCommit


class Recorder:
    def __init__(self, fail_with: Exception | None = None) -> None:
        self.sends: list[tuple[str, list[int]]] = []
        self.fail_with = fail_with
        self.gate = asyncio.Event()
        self.gate.set()

    async def send(self, key: str, items: list[int]) -> list[int]:
        self.sends.append((key, items))
        await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return [i * 10 for i in items]


async def test_a_lone_call_is_sent_by_itself() -> None:
    rec = Recorder()
    commit = GroupCommit(rec.send)
    assert await commit.call("a", 1) == 10
    assert await commit.call("a", 2) == 20
    assert rec.sends == [("a", [1]), ("a", [2])]


async def test_calls_that_arrive_while_one_is_sent_go_together_by_key() -> None:
    rec = Recorder()
    rec.gate.clear()
    commit = GroupCommit(rec.send, max_items=3)
    first = asyncio.ensure_future(commit.call("a", 1))
    await asyncio.sleep(0)  # the first send is on its way
    rest = [asyncio.ensure_future(commit.call(key, i)) for key, i in [("a", 2), ("b", 3), ("a", 4), ("a", 5), ("a", 6)]]
    await asyncio.sleep(0)
    rec.gate.set()
    assert await first == 10
    assert await asyncio.gather(*rest) == [20, 30, 40, 50, 60]
    assert sorted(rec.sends) == [("a", [1]), ("a", [2, 4, 5]), ("a", [6]), ("b", [3])]


async def test_each_caller_of_a_failed_send_gets_its_error() -> None:
    rec = Recorder(fail_with=ConnectionError("gone"))
    commit = GroupCommit(rec.send)
    outcomes = await asyncio.gather(*(commit.call("a", i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    rec.fail_with = None
    assert await commit.call("a", 7) == 70  # the next send is not held up by the failure


async def test_a_caller_cancelled_while_waiting_leaves_the_others_their_results() -> None:
    rec = Recorder()
    rec.gate.clear()
    commit = GroupCommit(rec.send)
    calls = [asyncio.ensure_future(commit.call("a", i)) for i in range(3)]
    await asyncio.sleep(0)
    calls[1].cancel()
    rec.gate.set()
    assert await calls[0] == 0 and await calls[2] == 20
    with pytest.raises(asyncio.CancelledError):
        await calls[1]
