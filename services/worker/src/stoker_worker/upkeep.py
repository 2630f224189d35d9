"""The control loops beside the compute: lease renewal, cancel requests, the reaper, heartbeats, the
scheduler of periodic tasks and webhook delivery.

None of them waits on a handler, so a busy model never delays a renewal.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from datetime import UTC, datetime

from stoker_queue import CancelRequests, Consumer, QueueUnavailable, Reaper, Registry, Scheduler, WorkerInfo
from stoker_worker.device import DeviceInfo, describe, select_device
from stoker_worker.inflight import InFlight
from stoker_worker.kube import PodDeletionCost
from stoker_worker.lifecycle import Lifecycle
from stoker_worker.observe import JobObserver
from stoker_worker.settings import WorkerSettings
from stoker_worker.task import TaskSpec
from stoker_worker.webhooks import WEBHOOK_BATCH, WebhookSender

log = logging.getLogger(__name__)


class Upkeep:
    """The periodic steps; ``loops()`` starts them, and they end when the lifecycle closes."""

    def __init__(
        self,
        *,
        settings: WorkerSettings,
        tasks: dict[str, TaskSpec],
        consumer: Consumer,
        registry: Registry,
        cancels: CancelRequests,
        reaper: Reaper,
        scheduler: Scheduler,
        webhooks: WebhookSender,
        pod_cost: PodDeletionCost | None,
        inflight: InFlight,
        lifecycle: Lifecycle,
        observer: JobObserver,
        capacity: int,
        webhook_due: asyncio.Event,
    ) -> None:
        self._settings, self._tasks, self._consumer = settings, tasks, consumer
        self._registry, self._reaper, self._webhooks, self._pod_cost = registry, reaper, webhooks, pod_cost
        self._scheduler = scheduler
        self._inflight, self._lifecycle, self._observer = inflight, lifecycle, observer
        self._capacity, self._cancels = capacity, cancels
        self._started_at = datetime.now(UTC)
        self.last_beat = time.monotonic()
        self.webhook_due = webhook_due

    def loops(self) -> list[asyncio.Task[None]]:
        s, every = self._settings, self._lifecycle.every
        loops = [
            asyncio.create_task(every(s.lease_s / 3, self.renew_leases), name="leases"),
            asyncio.create_task(self._cancels.listen(self.cancel, self._lifecycle.closing), name="cancels"),
            asyncio.create_task(every(s.reap_interval_s, self.reap), name="reaper"),
            asyncio.create_task(every(s.heartbeat_s, self.heartbeat), name="heartbeat"),
            asyncio.create_task(every(s.heartbeat_s, self.tick), name="liveness"),
            asyncio.create_task(self.deliver_webhooks(), name="webhooks"),
        ]
        # A worker that ends once its queues are empty takes no ticks: its own periodic jobs would keep them
        # from emptying. The API replicas and the long-running workers take them.
        if not (s.burst or s.max_jobs is not None):
            closing = self._lifecycle.closing
            loops.append(asyncio.create_task(self._scheduler.run(closing, self._observer.ticked), name="scheduler"))
        return loops

    async def publish_catalog(self) -> None:
        infos = [spec.info() for spec in self._tasks.values()]
        await self._registry.publish_tasks(infos, queues=self._settings.queues)

    def cancel(self, job_id: str) -> None:
        """A cancel was asked of ``job_id``: its handler sees ``ctx.cancelled`` now (if it runs here)."""
        if item := self._inflight.get(job_id):
            item.context.mark_cancelled()

    async def renew_leases(self) -> None:
        held = [item.job for item in self._inflight.items()]
        if not held:
            return
        outcome = await self._consumer.renew(held)
        for job_id in outcome.cancel_requested:
            if item := self._inflight.get(job_id):
                item.context.mark_cancelled()
        for job_id, token in outcome.lost:
            item = self._inflight.attempt(job_id, token)  # that claim: a newer one of the same job is not lost
            if item is None or item.settling:
                continue  # settled meanwhile (an ack between the snapshot and the renewal): not lost
            item.context.mark_cancelled()
            log.warning("job %s: lease lost; the handler stops at its next progress check", job_id)

    async def reap(self) -> None:
        for queue in self._settings.queues:
            report = await self._reaper.run_once(queue)
            if report is not None and report.crashed:
                self._observer.crashed(queue, report.crashed)

    async def tick(self) -> None:
        """Liveness asks whether the worker's event loop turns, not whether Redis answers: an outage must
        not make the kubelet restart every worker at once (readiness reports Redis)."""
        self.last_beat = time.monotonic()

    async def heartbeat(self) -> None:
        # The catalog goes with every heartbeat: a Redis that restarted empty learns it again.
        await self.publish_catalog()
        s, device = self._settings, self._device()
        await self._registry.heartbeat(
            WorkerInfo(
                id=s.worker_id,
                queues=s.queues,
                slots=self._capacity,
                busy=len(self._inflight),
                processed=self._inflight.processed,
                started_at=self._started_at,
                pod=s.pod_name,
                node=s.node_name,
                device=device.device,
                gpu_name=device.gpu_name,
                gpu_memory_total_bytes=device.gpu_memory_total_bytes,
                gpu_memory_used_bytes=device.gpu_memory_used_bytes,
            ),
            ttl_s=s.heartbeat_s * 3,
        )
        self._observer.heartbeat(s.queues, self._capacity, device)
        if self._pod_cost is not None:
            await self._pod_cost.update(len(self._inflight))

    def _device(self) -> DeviceInfo:
        # Only a worker whose tasks loaded torch has a device worth describing; others stay light.
        if "torch" not in sys.modules:
            return DeviceInfo(device="cpu")
        return describe(select_device(self._settings.device))

    async def deliver_webhooks(self) -> None:
        """Empty the outbox of each queue; woken by this worker's finished jobs, else every poll period."""
        closing = self._lifecycle.closing
        while not closing.is_set():
            self.webhook_due.clear()
            for queue in self._settings.queues:
                try:
                    while await self._webhooks.deliver_due(queue) == WEBHOOK_BATCH:
                        pass
                except QueueUnavailable as exc:
                    log.warning("webhooks: redis unreachable (%s)", exc)
                except Exception:
                    log.exception("webhooks of queue %s", queue)
            wake = asyncio.ensure_future(self.webhook_due.wait())
            closed = asyncio.ensure_future(closing.wait())
            await asyncio.wait(
                [wake, closed], timeout=self._settings.webhook_poll_s, return_when=asyncio.FIRST_COMPLETED
            )
            wake.cancel()
            closed.cancel()
