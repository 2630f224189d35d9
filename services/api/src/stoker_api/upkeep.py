"""Queue upkeep from the API, so a queue keeps moving while its worker pool is scaled to zero.

Workers run the reaper too; with none running, a delayed job or a retry would never be promoted to
its waiting list, KEDA (which counts only the lists) would never see it, and its pool would never
wake. Every API replica runs the same pass; the reaper's per-queue lock lets one through per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from stoker_queue import QueueUnavailable, Reader, Reaper

log = logging.getLogger(__name__)


class QueueUpkeep:
    """Runs a reaper pass over every known queue every ``interval_s``, until closed.

    Args:
        reader: lists the queues.
        reaper: promotes due jobs, requeues expired leases, expires and trims.
        interval_s: the schedule (the reaper's lock length).
    """

    def __init__(self, reader: Reader, reaper: Reaper, interval_s: float) -> None:
        self._reader, self._reaper, self._interval_s = reader, reaper, interval_s
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="queue-upkeep")

    async def close(self) -> None:
        self._closing.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 5)

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
