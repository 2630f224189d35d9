"""The worker's collectors, named as the metric contract says; one registry per worker."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Jobs run from milliseconds (echo) to hours (video): buckets reach 4 h, not the client's 10 s.
DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    120,
    300,
    600,
    1800,
    3600,
    7200,
    14400,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.jobs_finished = Counter(
            "stoker_jobs_finished_total",
            "Jobs this worker settled, by outcome.",
            ["queue", "task", "outcome"],
            registry=r,
        )
        self.wait_seconds = Histogram(
            "stoker_job_wait_seconds", "From enqueue to start.", ["queue", "task"], buckets=DURATION_BUCKETS, registry=r
        )
        self.run_seconds = Histogram(
            "stoker_job_run_seconds", "From start to end.", ["queue", "task"], buckets=DURATION_BUCKETS, registry=r
        )
        self.e2e_seconds = Histogram(
            "stoker_job_e2e_seconds",
            "From enqueue to end.",
            ["queue", "task", "outcome"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.slots = Gauge("stoker_worker_slots", "Jobs this worker may hold at once.", ["queue"], registry=r)
        self.busy_slots = Gauge("stoker_worker_busy_slots", "Jobs this worker holds now.", ["queue"], registry=r)
        self.batch_size = Histogram(
            "stoker_worker_batch_size", "Jobs per handler call.", ["task"], buckets=BATCH_BUCKETS, registry=r
        )
        self.attempts = Counter(
            "stoker_attempts_total",
            "Attempts that ended without a result, by cause.",
            ["queue", "task", "cause"],
            registry=r,
        )
        self.gpu_memory_used = Gauge(
            "stoker_gpu_memory_used_bytes", "GPU memory allocated by this worker.", ["device"], registry=r
        )
