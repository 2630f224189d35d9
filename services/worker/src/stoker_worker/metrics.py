"""The worker's collectors, named as the metric contract says (one registry per worker), and the
observer that keeps them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from stoker_queue import AttemptCause, ClaimedJob, CrashedJob, JobStatus, Tick
from stoker_worker.device import DeviceInfo
from stoker_worker.observe import JobObserver

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
        self.setup_seconds = Gauge(
            "stoker_worker_setup_seconds",
            "How long the last setup() (model load) of a task took.",
            ["task"],
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "stoker_webhook_deliveries_total", "Webhook delivery attempts, by outcome.", ["outcome"], registry=r
        )
        # Summed over every worker and API replica: one per tick of each periodic task.
        self.schedule_ticks = Counter(
            "stoker_schedule_ticks_total",
            "Ticks of periodic tasks taken here: fired (job enqueued) or skipped (queue paused).",
            ["queue", "task", "outcome"],
            registry=r,
        )


class MetricsObserver(JobObserver):
    """Counts every transition into ``metrics``."""

    def __init__(self, metrics: WorkerMetrics) -> None:
        self.metrics = metrics

    def claimed(self, job: ClaimedJob) -> None:
        env = job.envelope
        self.metrics.busy_slots.labels(env.queue).inc()
        self.metrics.wait_seconds.labels(env.queue, env.task).observe(job.wait_s)

    @contextlib.contextmanager
    def running(self, task: str, jobs: Sequence[ClaimedJob]) -> Iterator[None]:
        self.metrics.batch_size.labels(task).observe(len(jobs))
        yield

    def attempt_failed(self, job: ClaimedJob, code: str, message: str, status: JobStatus) -> None:
        self._attempt(job.envelope.queue, job.envelope.task, AttemptCause.ERROR)

    def finished(self, job: ClaimedJob, outcome: JobStatus, run_s: float) -> None:
        queue, task = job.envelope.queue, job.envelope.task
        self.metrics.jobs_finished.labels(queue, task, outcome.value).inc()
        self.metrics.run_seconds.labels(queue, task).observe(run_s)
        e2e_s = max(0.0, (job.started_at_ms - job.created_at_ms) / 1000) + run_s
        self.metrics.e2e_seconds.labels(queue, task, outcome.value).observe(e2e_s)

    def evicted(self, job: ClaimedJob) -> None:
        self._attempt(job.envelope.queue, job.envelope.task, AttemptCause.EVICTED)

    def released(self, job: ClaimedJob) -> None:
        self.metrics.busy_slots.labels(job.envelope.queue).dec()

    def crashed(self, queue: str, jobs: Sequence[CrashedJob]) -> None:
        for job in jobs:
            self._attempt(queue, job.task, AttemptCause.CRASH)
            if job.status is not JobStatus.QUEUED:  # a poison job, or one whose cancel was pending, ends here
                self.metrics.jobs_finished.labels(queue, job.task, job.status.value).inc()

    def setup_done(self, task: str, seconds: float) -> None:
        self.metrics.setup_seconds.labels(task).set(seconds)

    def heartbeat(self, queues: Sequence[str], slots: int, device: DeviceInfo) -> None:
        for queue in queues:
            self.metrics.slots.labels(queue).set(slots)
        if device.gpu_memory_used_bytes is not None:
            self.metrics.gpu_memory_used.labels(device.device).set(device.gpu_memory_used_bytes)

    def webhook(self, outcome: str) -> None:
        self.metrics.webhook_deliveries.labels(outcome).inc()

    def ticked(self, tick: Tick) -> None:
        self.metrics.schedule_ticks.labels(tick.queue, tick.task, tick.outcome).inc()

    def _attempt(self, queue: str, task: str, cause: AttemptCause) -> None:
        self.metrics.attempts.labels(queue, task, cause.value).inc()
