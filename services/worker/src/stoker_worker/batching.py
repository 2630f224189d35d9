"""Dynamic batching: jobs of one task gather until the batch is full or ``max_wait_ms`` passed.

One batch of a task runs at a time (it usually holds the GPU); the next one fills meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from stoker_worker.execution import Item
from stoker_worker.task import TaskSpec

RunBatch = Callable[[TaskSpec, list[Item]], Awaitable[None]]


class Batcher:
    """Collects ``spec``'s items and hands them to ``run`` in batches."""

    def __init__(self, spec: TaskSpec, run: RunBatch) -> None:
        self.spec = spec
        self._run = run
        self._pending: list[Item] = []
        self._first_at = 0.0
        self._arrived = asyncio.Event()
        self._flushing = False

    def add(self, item: Item) -> None:
        if not self._pending:
            self._first_at = time.monotonic()
        self._pending.append(item)
        self._arrived.set()

    def flush_now(self) -> None:
        """Stop waiting for batches to fill (shutdown): run what is there."""
        self._flushing = True
        self._arrived.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def serve(self) -> None:
        """Form and run batches until cancelled."""
        size, max_wait_s = self.spec.options.batch_size, self.spec.options.max_wait_ms / 1000
        while True:
            while not self._pending:
                self._arrived.clear()
                await self._arrived.wait()
            while len(self._pending) < size and not self._flushing:
                remaining = self._first_at + max_wait_s - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except TimeoutError:
                    break
            batch, self._pending = self._pending[:size], self._pending[size:]
            if self._pending:
                self._first_at = time.monotonic()
            await self._run(self.spec, batch)
