"""The jobs a worker holds right now, from claim until it lets go of them."""

from __future__ import annotations

import asyncio
import time

from stoker_worker.execution import Item
from stoker_worker.observe import JobObserver
from stoker_worker.slots import Slots


class InFlight:
    """Items by claim (job id and lease token): after a lost lease the same job may be claimed again
    while the first attempt's handler still runs. Each settled item frees its slot and is told to the
    observers once."""

    def __init__(self, slots: Slots, observer: JobObserver) -> None:
        self._items: dict[tuple[str, int], Item] = {}
        self._slots, self._observer = slots, observer
        self.processed = 0
        self.idle = asyncio.Event()
        self.idle.set()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, job_id: str) -> Item | None:
        """The newest claim of ``job_id`` held here (cancel requests and progress go to it)."""
        held = [item for (held_id, _), item in self._items.items() if held_id == job_id]
        return max(held, key=lambda item: item.job.token, default=None)

    def attempt(self, job_id: str, token: int) -> Item | None:
        return self._items.get((job_id, token))

    def items(self) -> list[Item]:
        return list(self._items.values())

    def add(self, item: Item) -> None:
        self._items[item.job.id, item.job.token] = item
        self.idle.clear()

    def ran(self, item: Item) -> None:
        """``item``'s handler is done: its slot may take the next job while the outcome is stored."""
        if not item.ran and (item.job.id, item.job.token) in self._items:
            item.ran = True
            self._slots.ran(time.monotonic() - item.started)
            self._slots.give_back(1)

    def settle(self, item: Item) -> None:
        """The worker is done with ``item``, whatever happened to its job. Idempotent."""
        if self._items.pop((item.job.id, item.job.token), None) is None:
            return
        self._observer.released(item.job)
        self.processed += 1
        if not item.ran:
            self._slots.give_back(1)
        if not self._items:
            self.idle.set()
