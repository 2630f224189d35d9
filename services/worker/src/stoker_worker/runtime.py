"""The worker runtime: claim -> run -> settle, with leases kept alive beside the compute.

Control loops (claims, lease renewal, the reaper, heartbeats) run on the event loop; handlers run
in threads (or as coroutines), so a busy model never delays a lease renewal. On stop (SIGTERM) the
worker claims nothing more, lets held jobs finish within ``drain_s``, hands the rest back as
``evicted`` and returns 0. A handler that hangs past its timeout makes the worker hand back its
other jobs at once and return ``EXIT_HUNG``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from stoker_queue import (
    AttemptCause,
    Backoff,
    Broker,
    ClaimedJob,
    Consumer,
    JobStatus,
    LeaseLost,
    QueueUnavailable,
    RateLimiter,
    Reader,
    Reaper,
    Registry,
    WebhookOutbox,
    WorkerInfo,
)
from stoker_worker.batching import Batcher
from stoker_worker.context import JobContext
from stoker_worker.device import DeviceInfo, describe, select_device
from stoker_worker.execution import Item, JobRunner
from stoker_worker.health import HealthServer
from stoker_worker.kube import PodDeletionCost
from stoker_worker.metrics import WorkerMetrics
from stoker_worker.settings import WorkerSettings
from stoker_worker.task import TaskSpec
from stoker_worker.webhooks import WEBHOOK_BATCH, WebhookSender

log = logging.getLogger(__name__)

EXIT_OK, EXIT_SETUP_FAILED, EXIT_HUNG = 0, 2, 3
# After an outage, wait this long (doubling up to the cap) before trying Redis again.
OUTAGE_BACKOFF_S, OUTAGE_BACKOFF_CAP_S = 0.2, 5.0


class Worker:
    """Serves ``tasks`` from ``settings.queues``.

    Args:
        broker: the shared connection.
        settings: the worker's settings.
        tasks: task name -> spec, from ``load_tasks``.
    """

    def __init__(
        self,
        broker: Broker,
        settings: WorkerSettings,
        tasks: dict[str, TaskSpec],
    ) -> None:
        self.settings = settings
        self.tasks = tasks
        self.broker = broker
        self.consumer = Consumer(broker, worker_id=settings.worker_id, lease_s=settings.lease_s)
        self.registry = Registry(broker)
        self.reaper = Reaper(broker, owner=settings.worker_id, interval_s=settings.reap_interval_s)
        self.metrics = WorkerMetrics()
        # Room to fill the next batch while one runs.
        biggest_batch = max((s.options.batch_size for s in tasks.values()), default=1)
        self.capacity = max(settings.concurrency, 2 * biggest_batch if biggest_batch > 1 else 1)
        self._threads = ThreadPoolExecutor(max_workers=self.capacity, thread_name_prefix="stoker-task")
        self.runner = JobRunner(
            self.consumer,
            RateLimiter(broker),
            self.metrics,
            Backoff(base_s=settings.retry_backoff_s, cap_s=settings.retry_backoff_cap_s),
            self._threads,
            hung_grace_s=settings.hung_grace_s,
            on_hung=self._on_hung,
            on_finished=self._job_finished,
        )
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        self.webhooks = WebhookSender(
            WebhookOutbox(broker),
            Reader(broker),
            secret=secret,
            allow_private=settings.webhook_allow_private,
            timeout_s=settings.webhook_timeout_s,
            max_attempts=settings.webhook_max_attempts,
        )
        self._webhook_due = asyncio.Event()
        self.pod_cost = (
            PodDeletionCost.in_cluster(
                os.environ.get("POD_NAME"),
                os.environ.get("POD_NAMESPACE"),
                min_interval_s=settings.pod_deletion_cost_interval_s,
            )
            if settings.pod_deletion_cost
            else None
        )
        self.health = HealthServer(
            settings.health_host,
            settings.health_port,
            live=self._live,
            ready=self._ready,
            registry=self.metrics.registry,
        )
        self.processed = 0
        self.exit_code = EXIT_OK
        self._started_at = datetime.now(UTC)
        self._setup_done = False
        self._last_beat = time.monotonic()
        self._stopping = asyncio.Event()
        # Control loops end on this rather than on cancellation: a cancel that lands inside a
        # Redis call can be absorbed by the client, leaving the loop running.
        self._closing = asyncio.Event()
        self._free_slots = self.capacity
        self._slot_freed = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._inflight: dict[str, Item] = {}
        self._runs: set[asyncio.Task[None]] = set()
        self._batchers = {name: Batcher(spec, self._execute) for name, spec in tasks.items() if spec.batched}

    # -- lifecycle ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming; ``run`` drains and returns."""
        if not self._stopping.is_set():
            log.info("worker %s stopping: no more claims, %d jobs held", self.settings.worker_id, len(self._inflight))
            self._stopping.set()
            self._slot_freed.set()  # wake claim loops waiting for a slot so they see the stop
            for batcher in self._batchers.values():
                batcher.flush_now()

    async def run(self) -> int:
        """Work until ``stop()`` (or SIGTERM/SIGINT), then drain. Returns the process exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        await self.health.start()
        try:
            if not await self._setup():
                return EXIT_SETUP_FAILED
            await self._until_stopped(self.registry.publish_tasks, [s.info() for s in self.tasks.values()])
            control = [
                asyncio.create_task(self._every(self.settings.lease_s / 3, self._renew_leases), name="leases"),
                asyncio.create_task(self._every(self.settings.reap_interval_s, self._reap), name="reaper"),
                asyncio.create_task(self._every(self.settings.heartbeat_s, self._heartbeat), name="heartbeat"),
                asyncio.create_task(self._deliver_webhooks(), name="webhooks"),
            ]
            batchers = [asyncio.create_task(b.serve(), name=f"batch:{n}") for n, b in self._batchers.items()]
            claimers = [asyncio.create_task(self._claim_loop(q), name=f"claim:{q}") for q in self.settings.queues]
            log.info(
                "worker %s serving %s on queues %s with %d slots",
                self.settings.worker_id,
                sorted(self.tasks),
                self.settings.queues,
                self.capacity,
            )
            await self._stopping.wait()
            await asyncio.gather(*claimers)  # each returns within claim_block_s
            await self._drain(batchers)
            self._closing.set()
            await asyncio.gather(*control)
            with contextlib.suppress(QueueUnavailable):
                await self.registry.remove_worker(self.settings.worker_id)
        finally:
            await self.webhooks.close()
            await self.health.close()
            self._threads.shutdown(wait=False, cancel_futures=True)
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        log.info("worker %s stopped after %d jobs (exit %d)", self.settings.worker_id, self.processed, self.exit_code)
        return self.exit_code

    async def _setup(self) -> bool:
        """Every class task's ``setup()`` (model loads), off the event loop; readiness waits for it."""
        for spec in self.tasks.values():
            try:
                await asyncio.get_running_loop().run_in_executor(self._threads, spec.setup)
            except Exception:
                log.exception("setup of task %s failed", spec.name)
                return False
        self._setup_done = True
        return True

    def _job_finished(self, job: ClaimedJob, status: JobStatus) -> None:
        if job.envelope.webhook is not None:
            self._webhook_due.set()  # deliver now rather than at the next poll

    async def _deliver_webhooks(self) -> None:
        """Empty the outbox of each queue; woken by this worker's finished jobs, else every poll period."""
        while not self._closing.is_set():
            self._webhook_due.clear()
            for queue in self.settings.queues:
                try:
                    while await self.webhooks.deliver_due(queue) == WEBHOOK_BATCH:
                        pass
                except QueueUnavailable as exc:
                    log.warning("webhooks: redis unreachable (%s)", exc)
                except Exception:
                    log.exception("webhooks of queue %s", queue)
            wake = asyncio.ensure_future(self._webhook_due.wait())
            closing = asyncio.ensure_future(self._closing.wait())
            await asyncio.wait(
                [wake, closing], timeout=self.settings.webhook_poll_s, return_when=asyncio.FIRST_COMPLETED
            )
            wake.cancel()
            closing.cancel()

    def _on_hung(self, task: str) -> None:
        log.error(
            "a handler of task %s did not return %.0fs after its timeout; handing back the other jobs and "
            "exiting so the pod is restarted",
            task,
            self.settings.hung_grace_s,
        )
        self.exit_code = EXIT_HUNG
        self.stop()

    async def _drain(self, batchers: list[asyncio.Task[None]]) -> None:
        if self.exit_code == EXIT_OK:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self.settings.drain_s)
        unfinished = list(self._inflight.values())  # cancelling their runs drops them from _inflight
        pending = [*self._runs, *batchers]
        for task in pending:
            task.cancel()
        if pending:
            # Bounded: a cancel absorbed mid-call must not hold the shutdown forever.
            await asyncio.wait(pending, timeout=5)
        for item in unfinished:
            log.info("job %s handed back unfinished", item.job.id)
            with contextlib.suppress(LeaseLost, QueueUnavailable):
                await self.consumer.release(item.job)
                self.metrics.attempts.labels(
                    item.job.envelope.queue, item.job.envelope.task, AttemptCause.EVICTED
                ).inc()
            self._settled(item)

    # -- claiming and running ----------------------------------------------------------------------

    async def _claim_loop(self, queue: str) -> None:
        backoff = OUTAGE_BACKOFF_S
        while not self._stopping.is_set():
            reserved = await self._reserve_slots()
            if self._stopping.is_set():
                self._return_slots(reserved)
                break
            try:
                batch = await self.consumer.claim(queue, reserved, block_s=self.settings.claim_block_s)
            except QueueUnavailable as exc:
                self._return_slots(reserved)
                log.warning("claim on %s failed (%s); retrying in %.1fs", queue, exc, backoff)
                await self._sleep_unless_stopping(backoff)
                backoff = min(backoff * 2, OUTAGE_BACKOFF_CAP_S)
                continue
            backoff = OUTAGE_BACKOFF_S
            self._return_slots(reserved - len(batch.jobs))
            for job in batch.jobs:
                await self._dispatch(job)

    async def _dispatch(self, job: ClaimedJob) -> None:
        if self._stopping.is_set():
            # Claimed as the stop arrived: hand it straight back, uncharged.
            with contextlib.suppress(LeaseLost, QueueUnavailable):
                await self.consumer.release(job)
            self._return_slots(1)
            return
        loop = asyncio.get_running_loop()

        def on_progress(_: JobContext) -> None:  # from the handler's thread: hop onto the loop
            loop.call_soon_threadsafe(self._flush_progress, job.id)

        context = JobContext(job.id, job.attempts.error + 1, on_progress=on_progress)
        item = Item(job=job, context=context)
        self._inflight[job.id] = item
        self._idle.clear()
        queue = job.envelope.queue
        self.metrics.busy_slots.labels(queue).inc()
        self.metrics.wait_seconds.labels(queue, job.envelope.task).observe(job.wait_s)
        spec = self.tasks.get(job.envelope.task)
        if spec is None:
            self._spawn(self._unknown_task(item), f"job:{job.id}")
        elif spec.batched:
            self._batchers[spec.name].add(item)
        else:
            self._spawn(self._execute(spec, [item]), f"job:{job.id}")

    async def _unknown_task(self, item: Item) -> None:
        try:
            await self.consumer.fail(
                item.job,
                code="unknown_task",
                retry=False,
                message=f"this worker does not serve task {item.job.envelope.task!r}",
            )
        except (LeaseLost, QueueUnavailable) as exc:
            log.warning("job %s: %s", item.job.id, exc)
        finally:
            self._settled(item)

    async def _execute(self, spec: TaskSpec, items: list[Item]) -> None:
        try:
            await self.runner.run(spec, items)
        except QueueUnavailable as exc:
            # The outcome could not be stored; the lease lapses and the reaper retries the job.
            log.error("task %s: could not settle %d jobs (%s)", spec.name, len(items), exc)
        finally:
            for item in items:
                self._settled(item)

    def _settled(self, item: Item) -> None:
        if self._inflight.pop(item.job.id, None) is None:
            return
        self.metrics.busy_slots.labels(item.job.envelope.queue).dec()
        self.processed += 1
        self._return_slots(1)
        if not self._inflight:
            self._idle.set()

    async def _reserve_slots(self) -> int:
        """Wait for a free slot, then take a fair share of the free ones for one claim."""
        while self._free_slots == 0 and not self._stopping.is_set():
            self._slot_freed.clear()
            await self._slot_freed.wait()
        share = min(self._free_slots, max(1, self._free_slots // len(self.settings.queues)))
        self._free_slots -= share
        return share

    def _return_slots(self, n: int) -> None:
        if n > 0:
            self._free_slots += n
            self._slot_freed.set()

    def _flush_progress(self, job_id: str) -> None:
        item = self._inflight.get(job_id)
        progress = item.context.take_progress() if item else None
        if item is not None and progress is not None:
            self._spawn(self._write_progress(item, *progress), f"progress:{job_id}")

    async def _write_progress(self, item: Item, fraction: float, message: str) -> None:
        try:
            if await self.consumer.progress(item.job, fraction, message):
                item.context.mark_cancelled()
        except LeaseLost:
            item.context.mark_cancelled()  # another attempt owns the job now: stop at the next check
        except QueueUnavailable as exc:
            log.warning("job %s: progress not recorded (%s)", item.job.id, exc)

    # -- control loops -----------------------------------------------------------------------------

    async def _renew_leases(self) -> None:
        held = [item.job for item in self._inflight.values()]
        if not held:
            return
        outcome = await self.consumer.renew(held)
        for job_id in outcome.lost | outcome.cancel_requested:
            if item := self._inflight.get(job_id):
                item.context.mark_cancelled()
        for job_id in outcome.lost:
            log.warning("job %s: lease lost; the handler stops at its next progress check", job_id)

    async def _reap(self) -> None:
        for queue in self.settings.queues:
            await self.reaper.run_once(queue)

    def _device(self) -> DeviceInfo:
        # Only a worker whose tasks loaded torch has a device worth describing; others stay light.
        if "torch" not in sys.modules:
            return DeviceInfo(device="cpu")
        info = describe(select_device(self.settings.device))
        if info.gpu_memory_used_bytes is not None:
            self.metrics.gpu_memory_used.labels(info.device).set(info.gpu_memory_used_bytes)
        return info

    async def _heartbeat(self) -> None:
        # The catalog goes with every heartbeat: a Redis that restarted empty learns it again.
        await self.registry.publish_tasks([s.info() for s in self.tasks.values()])
        device = self._device()
        await self.registry.heartbeat(
            WorkerInfo(
                id=self.settings.worker_id,
                queues=self.settings.queues,
                slots=self.capacity,
                busy=len(self._inflight),
                processed=self.processed,
                started_at=self._started_at,
                pod=os.environ.get("POD_NAME"),
                node=os.environ.get("NODE_NAME"),
                device=device.device,
                gpu_name=device.gpu_name,
                gpu_memory_total_bytes=device.gpu_memory_total_bytes,
                gpu_memory_used_bytes=device.gpu_memory_used_bytes,
            ),
            ttl_s=self.settings.heartbeat_s * 3,
        )
        for queue in self.settings.queues:
            self.metrics.slots.labels(queue).set(self.capacity)
        if self.pod_cost is not None:
            await self.pod_cost.update(len(self._inflight))
        self._last_beat = time.monotonic()

    async def _live(self) -> tuple[bool, str]:
        if self.exit_code == EXIT_HUNG:
            return False, "a handler hung"
        stale = time.monotonic() - self._last_beat > 3 * self.settings.heartbeat_s + self.settings.claim_block_s
        return (not stale), ("heartbeat is stale" if stale else "heartbeat fresh")

    async def _ready(self) -> tuple[bool, str]:
        if not self._setup_done:
            return False, "task setup is running"
        if self._stopping.is_set():
            return False, "stopping"
        try:
            await asyncio.wait_for(self.broker.ping(), 1)
        except (QueueUnavailable, TimeoutError):
            return False, "redis is unreachable"
        return True, "ready"

    async def _every(self, interval_s: float, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step`` on a fixed schedule until closing; an error is logged and the loop goes on."""
        while not self._closing.is_set():
            try:
                await step()
            except QueueUnavailable as exc:
                log.warning("%s: redis unreachable (%s)", step.__name__, exc)
            except Exception:
                log.exception("%s failed", step.__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), interval_s)

    async def _until_stopped(self, fn: Callable[..., Awaitable[None]], *args: object) -> None:
        backoff = OUTAGE_BACKOFF_S
        while not self._stopping.is_set():
            try:
                await fn(*args)
                return
            except QueueUnavailable as exc:
                log.warning("redis unreachable at start (%s); retrying in %.1fs", exc, backoff)
                await self._sleep_unless_stopping(backoff)
                backoff = min(backoff * 2, OUTAGE_BACKOFF_CAP_S)

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)
        return task
