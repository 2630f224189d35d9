"""Group commit: calls that arrive while one is in flight go out together in the next.

An idle caller waits for nobody (its call leaves at the next turn of the event loop); under load, every
call that arrived meanwhile shares one round trip. A worker that finishes jobs faster than Redis answers
thus settles them in batches without adding a delay to any of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
I = TypeVar("I")  # noqa: E741 - the item type, next to K and R
R = TypeVar("R")


class GroupCommit(Generic[K, I, R]):
    """Sends items by key with ``send(key, items) -> one result per item``, at most ``max_items`` at once."""

    def __init__(self, send: Callable[[K, list[I]], Awaitable[Sequence[R]]], *, max_items: int = 256) -> None:
        self._send, self._max_items = send, max_items
        self._pending: dict[K, list[tuple[I, asyncio.Future[R]]]] = {}
        self._flushing: dict[K, asyncio.Task[None]] = {}

    async def call(self, key: K, item: I) -> R:
        """``item``'s result, or the exception its batch's ``send`` raised."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, []).append((item, done))
        if key not in self._flushing:
            self._flushing[key] = asyncio.ensure_future(self._flush(key))
        return await done

    async def _flush(self, key: K) -> None:
        try:
            while pending := self._pending.get(key):
                batch = pending[: self._max_items]
                del pending[: self._max_items]
                await self._settle(key, batch)
        finally:
            del self._flushing[key]
            for _, done in self._pending.pop(key, []):  # left only when this task was cancelled
                done.cancel()

    async def _settle(self, key: K, batch: list[tuple[I, asyncio.Future[R]]]) -> None:
        try:
            results = await self._send(key, [item for item, _ in batch])
        except asyncio.CancelledError:
            for _, done in batch:
                done.cancel()
            raise
        except Exception as exc:  # each caller gets its batch's error
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)
