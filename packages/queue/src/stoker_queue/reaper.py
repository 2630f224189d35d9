"""Upkeep that any number of workers run on a fixed schedule; a Redis lock lets one at a time through.

Each pass returns crashed jobs (expired leases), promotes due scheduled jobs, expires jobs past
their ttl and forgets finished jobs past retention. Every step is a bounded script call repeated
until it comes back short, so one pass never blocks Redis for long.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from stoker_queue.broker import Broker, translate_errors
from stoker_queue.keys import QueueKeys
from stoker_queue.status import JobStatus

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True, slots=True)
class CrashedJob:
    """A job whose lease expired, taken back by this pass: ``status`` is where it went
    (``queued`` to run again, ``failed`` as a poison job, ``canceled`` if a cancel was pending)."""

    id: str
    task: str
    status: JobStatus


@dataclass(frozen=True, slots=True)
class ReapReport:
    """What one pass did. Only the worker whose pass reaped a job sees it in ``crashed``, so each
    crash is counted once however many workers run the reaper."""

    requeued: int = 0
    dead: int = 0
    canceled: int = 0
    promoted: int = 0
    expired: int = 0
    removed: int = 0
    crashed: tuple[CrashedJob, ...] = field(default=(), compare=False)


async def _drain(step: Callable[[], Awaitable[int]]) -> int:
    total = 0
    while (n := await step()) > 0:
        total += n
        if n < BATCH:
            break
    return total


class Reaper:
    """Runs one queue's upkeep at most once per ``interval_s`` across all workers.

    Args:
        broker: the shared connection.
        owner: written into the lock, to see who holds it.
        interval_s: the schedule; the lock is held this long, so passes never overlap or crowd.
    """

    def __init__(self, broker: Broker, *, owner: str, interval_s: float = 5.0) -> None:
        self._broker = broker
        self._owner = owner
        self.interval_s = interval_s

    @translate_errors
    async def run_once(self, queue: str, *, force: bool = False) -> ReapReport | None:
        """One pass over ``queue``; None when another worker ran it within the interval.

        ``force`` skips the lock (tests, and an operator's manual run).
        """
        q = QueueKeys(queue)
        if not force:
            got = await self._broker.redis.set(q.reaper_lock, self._owner, nx=True, px=round(self.interval_s * 1000))
            if not got:
                return None
        s, now = self._broker.scripts, self._broker.now_ms()
        requeued = dead = canceled = 0
        crashed: list[CrashedJob] = []
        while True:
            r, d, c, reaped = await s.reap(q, now, BATCH)
            requeued, dead, canceled = requeued + r, dead + d, canceled + c
            crashed += [CrashedJob(id=i, task=t, status=JobStatus(st)) for i, t, st in reaped]
            if r + d + c < BATCH:
                break
        options = self._broker.options
        retention_ms = round(options.retention_s * 1000)
        report = ReapReport(
            requeued=requeued,
            dead=dead,
            canceled=canceled,
            promoted=await _drain(lambda: s.promote(q, now, BATCH)),
            expired=await _drain(lambda: s.expire(q, now, BATCH)),
            removed=await _drain(lambda: s.trim(q, now, retention_ms, options.dead_max, BATCH)),
            crashed=tuple(crashed),
        )
        if report.requeued or report.dead:
            log.warning(
                "queue %s: requeued %d jobs from dead workers, %d poison jobs dead-lettered",
                queue,
                report.requeued,
                report.dead,
            )
        return report
