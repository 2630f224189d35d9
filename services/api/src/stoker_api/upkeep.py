"""Queue upkeep from the API, so a queue keeps moving while its worker pool is scaled to zero.

Workers run the reaper too; with none running, a delayed job or a retry would never be promoted to
its waiting list, KEDA (which counts only the lists) would never see it, and its pool would never
wake. Every API replica runs the same pass; the reaper's per-queue lock lets one through per interval.
Likewise every replica runs the scheduler of periodic tasks, whose tick script lets one take each tick:
a periodic job is enqueued on time while no worker of its task runs, and wakes the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from stoker_queue import QueueUnavailable, Reader, Reaper, Scheduler, Tick

log = logging.getLogger(__name__)


class QueueUpkeep:
    """Runs a reaper pass over every known queue every ``interval_s``, and the scheduler, until closed.

    Args:
        reader: lists the queues.
        reaper: promotes due jobs, requeues expired leases, expires and trims.
        interval_s: the schedule (the reaper's lock length).
        scheduler: takes the ticks of periodic tasks.
        on_tick: told of each tick this replica took (the metrics).
    """

    def __init__(
        self,
        reader: Reader,
        reaper: Reaper,
        interval_s: float,
        scheduler: Scheduler,
        on_tick: Callable[[Tick], None] | None = None,
    ) -> None:
        self._reader, self._reaper, self._interval_s = reader, reaper, interval_s
        self._scheduler, self._on_tick = scheduler, on_tick
        self._closing = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="queue-upkeep"),
            asyncio.create_task(self._scheduler.run(self._closing, self._on_tick), name="scheduler"),
        ]

    async def close(self) -> None:
        self._closing.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)

    async def pass_once(self) -> None:
        for queue in await self._reader.list_queues():
            await self._reaper.run_once(queue)

    async def _run(self) -> None:
        while not self._closing.is_set():
            try:
                await self.pass_once()
            except QueueUnavailable as exc:
                log.debug("queue upkeep: redis unreachable (%s)", exc)
            except Exception:
                log.exception("queue upkeep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self._interval_s)
