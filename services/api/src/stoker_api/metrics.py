"""The API's collectors, named as the metric contract says; one registry per app."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from stoker_api.queue_gauges import QueueGauges
from stoker_queue import Tick

# Request latencies stay short, but ?wait= and event streams hold a request for up to minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)


class ApiMetrics:
    """Counters and histograms the routes update, plus the queue gauges read at scrape time.

    Args:
        queue_gauges: the collector of queue and worker gauges; omitted, only the API's own metrics.
    """

    def __init__(self, queue_gauges: QueueGauges | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.jobs_submitted = Counter(
            "stoker_jobs_submitted_total", "Jobs accepted by the API.", ["queue", "task"], registry=self.registry
        )
        self.requests = Histogram(
            "stoker_http_request_duration_seconds",
            "API requests by route and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Summed over every API replica and worker: one per tick of each periodic task.
        self.schedule_ticks = Counter(
            "stoker_schedule_ticks_total",
            "Ticks of periodic tasks taken here: fired (job enqueued) or skipped (queue paused).",
            ["queue", "task", "outcome"],
            registry=self.registry,
        )
        self.queue_gauges = queue_gauges
        if queue_gauges is not None:
            self.registry.register(queue_gauges)

    def ticked(self, tick: Tick) -> None:
        self.schedule_ticks.labels(tick.queue, tick.task, tick.outcome).inc()

    async def refresh(self) -> None:
        """Read what is collected at scrape time; call before ``generate_latest``."""
        if self.queue_gauges is not None:
            await self.queue_gauges.refresh()
