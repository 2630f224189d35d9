"""Slots: how many jobs a worker may hold at once, shared fairly between the queues it claims from."""

from __future__ import annotations

import asyncio


class Slots:
    """``capacity`` slots; each claim reserves a fair share of the free ones and returns what it did not use."""

    def __init__(self, capacity: int, queues: int) -> None:
        self.capacity = capacity
        self._queues = max(1, queues)
        self._free = capacity
        self._freed = asyncio.Event()
        self._closed = False

    async def reserve(self) -> int:
        """Wait for a free slot, then take a fair share of the free ones. 0 once closed."""
        while self._free == 0 and not self._closed:
            self._freed.clear()
            await self._freed.wait()
        if self._closed:
            return 0
        share = min(self._free, max(1, self._free // self._queues))
        self._free -= share
        return share

    def give_back(self, n: int) -> None:
        if n > 0:
            self._free += n
            self._freed.set()

    def close(self) -> None:
        """Wake every claim loop waiting for a slot so that it sees the stop."""
        self._closed = True
        self._freed.set()
