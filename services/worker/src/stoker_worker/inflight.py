"""The jobs a worker holds right now, from claim until it lets go of them."""

from __future__ import annotations

import asyncio

from stoker_worker.execution import Item
from stoker_worker.observe import JobObserver
from stoker_worker.slots import Slots


class InFlight:
    """Items by job id; each settled item frees its slot and is told to the observers once."""

    def __init__(self, slots: Slots, observer: JobObserver) -> None:
        self._items: dict[str, Item] = {}
        self._slots, self._observer = slots, observer
        self.processed = 0
        self.idle = asyncio.Event()
        self.idle.set()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, job_id: str) -> Item | None:
        return self._items.get(job_id)

    def items(self) -> list[Item]:
        return list(self._items.values())

    def add(self, item: Item) -> None:
        self._items[item.job.id] = item
        self.idle.clear()

    def settle(self, item: Item) -> None:
        """The worker is done with ``item``, whatever happened to its job. Idempotent."""
        if self._items.pop(item.job.id, None) is None:
            return
        self._observer.released(item.job)
        self.processed += 1
        self._slots.give_back(1)
        if not self._items:
            self.idle.set()
