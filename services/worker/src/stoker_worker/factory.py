"""Wiring: the one place that builds a worker's parts from its settings and hands them to ``Worker``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from stoker_queue import (
    Backoff,
    Broker,
    CancelRequests,
    ClaimedJob,
    Consumer,
    JobStatus,
    RateLimiter,
    Reader,
    Reaper,
    Registry,
    Scheduler,
    WebhookOutbox,
)
from stoker_worker.dispatch import Dispatcher
from stoker_worker.execution import JobRunner
from stoker_worker.health import HealthServer
from stoker_worker.inflight import InFlight
from stoker_worker.joblog import LogObserver
from stoker_worker.kube import PodDeletionCost
from stoker_worker.lifecycle import Lifecycle
from stoker_worker.metrics import MetricsObserver, WorkerMetrics
from stoker_worker.observe import JobObserver, Observers
from stoker_worker.probes import Probes
from stoker_worker.runtime import Worker
from stoker_worker.settings import WorkerSettings
from stoker_worker.slots import Slots
from stoker_worker.task import TaskSpec
from stoker_worker.upkeep import Upkeep
from stoker_worker.webhooks import WebhookSender

log = logging.getLogger(__name__)


def warn_of_unclaimed_queues(settings: WorkerSettings, tasks: dict[str, TaskSpec]) -> None:
    """A task whose jobs wait on a queue this worker does not claim is served here only for clients that
    name one of its queues: say so at start, since it is usually a missing ``--queues`` entry."""
    for spec in tasks.values():
        if spec.options.queue not in settings.queues:
            log.warning(
                "task %s waits on queue %r, which this worker does not claim (queues: %s)",
                spec.name,
                spec.options.queue,
                ",".join(settings.queues),
            )
        scheduled = spec.info().scheduled()
        if scheduled is not None and scheduled.queue != spec.options.queue and scheduled.queue not in settings.queues:
            log.warning(
                "task %s's schedule enqueues on queue %r, which this worker does not claim (queues: %s)",
                spec.name,
                scheduled.queue,
                ",".join(settings.queues),
            )


def capacity_of(settings: WorkerSettings, tasks: dict[str, TaskSpec]) -> int:
    """Slots: the concurrency, or room to fill the next batch while one runs. Jobs claimed; how many
    non-batched handlers run at once is the concurrency still (the dispatcher bounds them)."""
    biggest_batch = max((s.options.batch_size for s in tasks.values()), default=1)
    return max(settings.concurrency, 2 * biggest_batch if biggest_batch > 1 else 1)


class WebhookNudge(JobObserver):
    """A finished job with a webhook wakes the delivery loop instead of waiting for its next poll."""

    def __init__(self, due: asyncio.Event) -> None:
        self._due = due

    def finished(self, job: ClaimedJob, outcome: JobStatus, run_s: float) -> None:
        if job.envelope.webhook is not None:
            self._due.set()


def build_observers(metrics: WorkerMetrics, webhook_due: asyncio.Event, *, tracing: bool) -> list[JobObserver]:
    chain: list[JobObserver] = [MetricsObserver(metrics), LogObserver(), WebhookNudge(webhook_due)]
    if tracing:
        from stoker_worker.tracing import TracingObserver  # opentelemetry stays unimported otherwise

        chain.append(TracingObserver())
    return chain


def build_worker(
    broker: Broker,
    settings: WorkerSettings,
    tasks: dict[str, TaskSpec],
    *,
    tracing: bool = False,
    observers: Sequence[JobObserver] = (),
) -> Worker:
    """A worker serving ``tasks`` from ``settings.queues``.

    Args:
        broker: the shared connection.
        settings: the worker's settings.
        tasks: task name -> spec, from ``load_tasks``.
        tracing: add the tracing observer (the process set up an exporter from ``OTEL_*``).
        observers: more observers of every job transition, told after the built-in ones.
    """
    warn_of_unclaimed_queues(settings, tasks)
    metrics, webhook_due = WorkerMetrics(), asyncio.Event()
    observer = Observers([*build_observers(metrics, webhook_due, tracing=tracing), *observers])
    lifecycle = Lifecycle()
    capacity = capacity_of(settings, tasks)
    slots = Slots(
        capacity, len(settings.queues), prefetch=settings.concurrency, prefetch_below_s=settings.prefetch_below_s
    )
    inflight = InFlight(slots, observer)
    consumer = Consumer(broker, worker_id=settings.worker_id, lease_s=settings.lease_s, tasks=tasks)
    threads = ThreadPoolExecutor(max_workers=capacity, thread_name_prefix="stoker-task")
    runner = JobRunner(
        consumer,
        RateLimiter(broker),
        observer,
        Backoff(base_s=settings.retry_backoff_s, cap_s=settings.retry_backoff_cap_s),
        threads,
        concurrency=settings.concurrency,
        hung_grace_s=settings.hung_grace_s,
        on_hung=lambda task: lifecycle.hung(task, settings.hung_grace_s),
        on_ran=inflight.ran,
    )
    dispatcher = Dispatcher(
        consumer=consumer,
        tasks=tasks,
        runner=runner,
        inflight=inflight,
        slots=slots,
        lifecycle=lifecycle,
        observer=observer,
    )
    webhooks = WebhookSender(
        WebhookOutbox(broker),
        Reader(broker),
        secret=settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
        allow_private=settings.webhook_allow_private,
        timeout_s=settings.webhook_timeout_s,
        max_attempts=settings.webhook_max_attempts,
        on_outcome=observer.webhook,
    )
    pod_cost = None
    if settings.pod_deletion_cost:
        pod_cost = PodDeletionCost.in_cluster(
            settings.pod_name, settings.pod_namespace, min_interval_s=settings.pod_deletion_cost_interval_s
        )
    registry = Registry(broker)
    upkeep = Upkeep(
        settings=settings,
        tasks=tasks,
        consumer=consumer,
        registry=registry,
        cancels=CancelRequests(broker, settings.queues),
        reaper=Reaper(broker, owner=settings.worker_id, interval_s=settings.reap_interval_s),
        scheduler=Scheduler(broker),
        webhooks=webhooks,
        pod_cost=pod_cost,
        inflight=inflight,
        lifecycle=lifecycle,
        observer=observer,
        capacity=capacity,
        webhook_due=webhook_due,
    )
    probes = Probes(broker, settings, lifecycle, last_beat=lambda: upkeep.last_beat)
    health = HealthServer(
        settings.health_host,
        settings.health_port,
        live=probes.live,
        ready=probes.ready,
        registry=metrics.registry,
        any_port_if_taken="health_port" not in settings.model_fields_set,
    )
    return Worker(
        settings=settings,
        tasks=tasks,
        lifecycle=lifecycle,
        slots=slots,
        inflight=inflight,
        consumer=consumer,
        registry=registry,
        dispatcher=dispatcher,
        upkeep=upkeep,
        webhooks=webhooks,
        health=health,
        observer=observer,
        threads=threads,
    )
