"""The API's collectors, named as the metric contract says; one registry per app."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

# Request latencies stay short, but ?wait= and event streams hold a request for up to minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)


class ApiMetrics:
    def __init__(self) -> None:
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
