"""Slots: how many jobs a worker may hold at once, shared fairly between the queues it claims from.

While handlers return quickly (on average within ``prefetch_below_s``), a worker may hold ``prefetch``
more jobs than its slots: the next jobs are claimed while the current ones run, so a claim's round trip
is no pause between short jobs. Long jobs are never prefetched, so none waits behind a busy worker
while another worker could run it.
"""

from __future__ import annotations

import asyncio

RUN_TIME_WEIGHT = 0.2  # weight of the newest handler run in the running mean


class Slots:
    """``capacity`` slots; each claim reserves a fair share of the free ones and returns what it did not use."""

    def __init__(self, capacity: int, queues: int, *, prefetch: int = 0, prefetch_below_s: float = 0.0) -> None:
        self.capacity = capacity
        self._queues = max(1, queues)
        self._prefetch, self._prefetch_below_s = prefetch, prefetch_below_s
        self._mean_run_s: float | None = None
        self._held = 0
        self._freed = asyncio.Event()
        self._closed = False

    @property
    def limit(self) -> int:
        """How many jobs may be held now: the capacity, plus the prefetch while handlers are quick."""
        quick = self._mean_run_s is not None and self._mean_run_s < self._prefetch_below_s
        return self.capacity + (self._prefetch if quick else 0)

    async def reserve(self) -> int:
        """Wait for a free slot, then take a fair share of the free ones. 0 once closed."""
        while self._held >= self.limit and not self._closed:
            self._freed.clear()
            await self._freed.wait()
        if self._closed:
            return 0
        free = self.limit - self._held
        share = min(free, max(1, free // self._queues))
        self._held += share
        return share

    def give_back(self, n: int) -> None:
        if n > 0:
            self._held -= n
            self._freed.set()

    def ran(self, seconds: float) -> None:
        """A handler returned after ``seconds``: the running mean that decides the prefetch."""
        before = self.limit
        mean = self._mean_run_s
        self._mean_run_s = seconds if mean is None else mean + RUN_TIME_WEIGHT * (seconds - mean)
        if self.limit > before:
            self._freed.set()

    def close(self) -> None:
        """Wake every claim loop waiting for a slot so that it sees the stop."""
        self._closed = True
        self._freed.set()
