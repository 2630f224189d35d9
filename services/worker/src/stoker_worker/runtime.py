"""The worker runtime: claim -> run -> settle, with leases kept alive beside the compute.

Control loops (claims, lease renewal, the reaper, heartbeats) run on the event loop; handlers run
in threads (or as coroutines), so a busy model never delays a lease renewal. On stop (SIGTERM) the
worker claims nothing more, lets held jobs finish within ``drain_s``, hands the rest back as
``evicted`` and returns 0. A handler that hangs past its timeout makes the worker hand back its
other jobs at once and return ``EXIT_HUNG``.

``Worker`` only composes its parts and runs them in order; ``factory.build_worker`` builds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from concurrent.futures import ThreadPoolExecutor

from stoker_queue import Consumer, LeaseLost, QueueUnavailable, Registry
from stoker_worker.claiming import JobBudget, claim_loop
from stoker_worker.dispatch import Dispatcher
from stoker_worker.health import HealthServer
from stoker_worker.inflight import InFlight
from stoker_worker.lifecycle import EXIT_OK, EXIT_SETUP_FAILED, Lifecycle
from stoker_worker.observe import JobObserver
from stoker_worker.settings import WorkerSettings
from stoker_worker.slots import Slots
from stoker_worker.task import TaskSpec
from stoker_worker.upkeep import Upkeep
from stoker_worker.webhooks import WebhookSender

log = logging.getLogger(__name__)


class Worker:
    """Serves ``tasks`` from ``settings.queues`` with the parts ``build_worker`` made."""

    def __init__(
        self,
        *,
        settings: WorkerSettings,
        tasks: dict[str, TaskSpec],
        lifecycle: Lifecycle,
        slots: Slots,
        inflight: InFlight,
        consumer: Consumer,
        registry: Registry,
        dispatcher: Dispatcher,
        upkeep: Upkeep,
        webhooks: WebhookSender,
        health: HealthServer,
        observer: JobObserver,
        threads: ThreadPoolExecutor,
    ) -> None:
        self.settings, self.tasks = settings, tasks
        self.lifecycle, self.slots, self.inflight = lifecycle, slots, inflight
        self.consumer, self.registry, self.dispatcher = consumer, registry, dispatcher
        self.upkeep, self.webhooks, self.health = upkeep, webhooks, health
        self.observer, self._threads = observer, threads
        lifecycle.on_stop(slots.close)
        for batcher in dispatcher.batchers.values():
            lifecycle.on_stop(batcher.flush_now)

    @property
    def capacity(self) -> int:
        return self.slots.capacity

    @property
    def handlers_running(self) -> int:
        return self.dispatcher.handlers_running

    @property
    def processed(self) -> int:
        return self.inflight.processed

    def stop(self) -> None:
        """Stop claiming; ``run`` drains and returns."""
        held = len(self.inflight)
        if self.lifecycle.stop():
            log.info("worker %s stopping: no more claims, %d jobs held", self.settings.worker_id, held)

    async def run(self) -> int:
        """Work until ``stop()`` (or SIGTERM/SIGINT), then drain. Returns the process exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        await self.health.start()
        try:
            if not await self._setup():
                return EXIT_SETUP_FAILED
            await self.lifecycle.until_stopped(self.upkeep.publish_catalog)
            await self._serve()
        finally:
            await self.webhooks.close()
            await self.health.close()
            self._threads.shutdown(wait=False, cancel_futures=True)
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        code = self.lifecycle.exit_code
        log.info("worker %s stopped after %d jobs (exit %d)", self.settings.worker_id, self.processed, code)
        return code

    async def _serve(self) -> None:
        s, d = self.settings, self.dispatcher
        control = self.upkeep.loops()
        batchers = [asyncio.create_task(b.serve(), name=f"batch:{n}") for n, b in d.batchers.items()]
        budget = JobBudget(s.max_jobs)
        claimers = [
            asyncio.create_task(
                claim_loop(
                    q,
                    consumer=self.consumer,
                    slots=self.slots,
                    dispatcher=d,
                    lifecycle=self.lifecycle,
                    block_s=s.claim_block_s,
                    inflight=self.inflight,
                    budget=budget,
                    burst=s.burst,
                ),
                name=f"claim:{q}",
            )
            for q in s.queues
        ]
        log.info(
            "worker %s serving %s on queues %s with %d slots", s.worker_id, sorted(self.tasks), s.queues, self.capacity
        )
        finite = s.burst or s.max_jobs is not None
        ending = asyncio.create_task(self._end_when_done(claimers), name="burst") if finite else None
        await self.lifecycle.stopping.wait()
        if ending is not None:
            ending.cancel()
        await asyncio.gather(*claimers)  # each returns within claim_block_s
        await self._drain(batchers)
        self.lifecycle.closing.set()
        await asyncio.gather(*control)
        with contextlib.suppress(QueueUnavailable):
            await self.registry.remove_worker(s.worker_id)

    async def _end_when_done(self, claimers: list[asyncio.Task[None]]) -> None:
        """Burst or job budget: once every claim loop ended, let held jobs finish, then stop."""
        await asyncio.gather(*claimers)
        await self.inflight.idle.wait()
        log.info("worker %s: no more work to take (%d jobs done)", self.settings.worker_id, self.processed)
        self.stop()

    async def _setup(self) -> bool:
        """Every class task's ``setup()`` (model loads), off the event loop; readiness waits for it."""
        for spec in self.tasks.values():
            started = time.perf_counter()
            try:
                await asyncio.get_running_loop().run_in_executor(self._threads, spec.setup)
            except Exception:
                log.exception("setup of task %s failed", spec.name)
                return False
            if spec.is_class:
                self.observer.setup_done(spec.name, time.perf_counter() - started)
        self.lifecycle.setup_done = True
        return True

    async def _drain(self, batchers: list[asyncio.Task[None]]) -> None:
        if self.lifecycle.exit_code == EXIT_OK:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.inflight.idle.wait(), self.settings.drain_s)
        unfinished = self.inflight.items()  # still held after their runs are cancelled
        pending = [*self.dispatcher.runs, *batchers]
        for task in pending:
            task.cancel()
        if pending:
            # Bounded: a cancel absorbed mid-call must not hold the shutdown forever.
            await asyncio.wait(pending, timeout=5)
        for item in unfinished:
            with contextlib.suppress(LeaseLost, QueueUnavailable):
                await self.consumer.release(item.job, trace=self.observer.attempt_trace(item.job))
                self.observer.evicted(item.job)
            self.inflight.settle(item)
