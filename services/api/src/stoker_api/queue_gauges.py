"""Queue gauges read from Redis at scrape time: ``/metrics`` refreshes them, then the registry collects.

A scrape awaits one snapshot (one Redis round trip in the steady state), bounded by the API's Redis
timeout. When Redis is unreachable or slow, ``stoker_redis_up`` is 0 and no queue gauge is exported
for that scrape, rather than stale values that look current.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from stoker_queue import QueueUnavailable, Reader
from stoker_queue.records import QueuesSnapshot

log = logging.getLogger(__name__)

STATES = ("waiting", "scheduled", "running", "dead")


def _families() -> dict[str, GaugeMetricFamily]:
    return {
        "jobs": GaugeMetricFamily("stoker_queue_jobs", "Jobs in a queue by state.", labels=["queue", "state"]),
        "waiting": GaugeMetricFamily(
            "stoker_queue_waiting_jobs", "Waiting jobs by priority.", labels=["queue", "priority"]
        ),
        "oldest": GaugeMetricFamily(
            "stoker_queue_oldest_waiting_seconds",
            "How long the oldest waiting job has waited (0 when none waits).",
            labels=["queue"],
        ),
        "paused": GaugeMetricFamily("stoker_queue_paused", "1 while the queue is paused.", labels=["queue"]),
        "workers": GaugeMetricFamily("stoker_queue_workers", "Live workers serving the queue.", labels=["queue"]),
    }


def _redis_up(value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily("stoker_redis_up", "1 if this scrape read the queues from Redis in time.", value=value)


class QueueGauges(Collector):
    """Exports the last snapshot that ``refresh`` read.

    Args:
        reader: reads the snapshot.
        timeout_s: the longest a refresh waits for Redis.
    """

    def __init__(self, reader: Reader, *, timeout_s: float) -> None:
        self._reader = reader
        self._timeout_s = timeout_s
        self._snapshot: QueuesSnapshot | None = None
        # What the last snapshot found: the next one reads them in its first round trip.
        self._queues: frozenset[str] = frozenset()
        self._workers: frozenset[str] = frozenset()

    async def refresh(self) -> None:
        """Read a new snapshot; on an outage or timeout, forget the old one."""
        try:
            async with asyncio.timeout(self._timeout_s):
                snapshot = await self._reader.snapshot(self._queues, known_workers=self._workers)
        except (QueueUnavailable, TimeoutError) as exc:
            log.warning("queue gauges not read: %s", str(exc) or "redis did not answer in time")
            self._snapshot = None
            return
        self._snapshot = snapshot
        self._queues = frozenset(snapshot.stats)
        self._workers = snapshot.worker_ids

    def describe(self) -> Iterator[Metric]:
        yield _redis_up(0)
        yield from _families().values()

    def collect(self) -> Iterator[Metric]:
        snapshot = self._snapshot
        yield _redis_up(0 if snapshot is None else 1)
        if snapshot is None:
            return
        families = _families()
        for name, stats in snapshot.stats.items():
            counts = (stats.waiting_total, stats.scheduled, stats.running, stats.dead)
            for state, count in zip(STATES, counts, strict=True):
                families["jobs"].add_metric([name, state], count)
            for priority, count in stats.waiting.items():
                families["waiting"].add_metric([name, priority.value], count)
            families["oldest"].add_metric([name], stats.oldest_waiting_age_s or 0.0)
            families["paused"].add_metric([name], 1 if stats.paused else 0)
        for name, count in snapshot.workers.items():
            families["workers"].add_metric([name], count)
        yield from families.values()
