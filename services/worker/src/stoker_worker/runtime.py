"""The worker runtime: claim -> run -> settle, with leases kept alive beside the compute.

Control loops (claims, lease renewal, the reaper, heartbeats) run on the event loop; handlers run
in threads (or as coroutines), so a busy model never delays a lease renewal. On stop (SIGTERM) the
worker claims nothing more, lets running jobs finish within ``drain_s``, hands the rest back as
``evicted`` and returns 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import traceback
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from pydantic import JsonValue, ValidationError

from stoker_queue import (
    Backoff,
    Broker,
    ClaimedJob,
    Consumer,
    LeaseLost,
    QueueUnavailable,
    Reaper,
    Registry,
    WorkerInfo,
)
from stoker_worker.settings import WorkerSettings
from stoker_worker.task import TaskSpec

log = logging.getLogger(__name__)

# After an outage, wait this long (doubling up to the cap) before trying Redis again.
OUTAGE_BACKOFF_S, OUTAGE_BACKOFF_CAP_S = 0.2, 5.0


class Worker:
    """Serves ``tasks`` from ``settings.queues``.

    Args:
        broker: the shared connection.
        settings: the worker's settings.
        tasks: task name -> spec, from ``load_tasks``.
    """

    def __init__(self, broker: Broker, settings: WorkerSettings, tasks: dict[str, TaskSpec]) -> None:
        self.settings = settings
        self.tasks = tasks
        self.consumer = Consumer(broker, worker_id=settings.worker_id, lease_s=settings.lease_s)
        self.registry = Registry(broker)
        self.reaper = Reaper(broker, owner=settings.worker_id, interval_s=settings.reap_interval_s)
        self.backoff = Backoff(base_s=settings.retry_backoff_s, cap_s=settings.retry_backoff_cap_s)
        self.processed = 0
        self._started_at = datetime.now(UTC)
        self._stopping = asyncio.Event()
        # Control loops end on this rather than on cancellation: a cancel that lands inside a
        # Redis call can be absorbed by the client, leaving the loop running.
        self._closing = asyncio.Event()
        self._free_slots = settings.concurrency
        self._slot_freed = asyncio.Event()
        self._inflight: dict[str, ClaimedJob] = {}
        self._runs: set[asyncio.Task[None]] = set()
        self._executor = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="stoker-task")

    def stop(self) -> None:
        """Stop claiming; ``run`` drains and returns."""
        if not self._stopping.is_set():
            log.info("worker %s stopping: no more claims, draining %d jobs", self.settings.worker_id, len(self._runs))
            self._stopping.set()
            self._slot_freed.set()  # wake claim loops waiting for a slot so they see the stop

    async def run(self) -> int:
        """Work until ``stop()`` (or SIGTERM/SIGINT), then drain. Returns the process exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        try:
            await self._until_stopped(self.registry.publish_tasks, [s.info() for s in self.tasks.values()])
            control = [
                asyncio.create_task(self._every(self.settings.lease_s / 3, self._renew_leases), name="leases"),
                asyncio.create_task(self._every(self.settings.reap_interval_s, self._reap), name="reaper"),
                asyncio.create_task(self._every(self.settings.heartbeat_s, self._heartbeat), name="heartbeat"),
            ]
            claimers = [asyncio.create_task(self._claim_loop(q), name=f"claim:{q}") for q in self.settings.queues]
            log.info(
                "worker %s serving tasks %s on queues %s with %d slots",
                self.settings.worker_id,
                sorted(self.tasks),
                self.settings.queues,
                self.settings.concurrency,
            )
            await self._stopping.wait()
            await asyncio.gather(*claimers)  # each returns within claim_block_s
            await self._drain()
            self._closing.set()
            await asyncio.gather(*control)
            await self._quietly(self.registry.remove_worker(self.settings.worker_id))
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        log.info("worker %s stopped after %d jobs", self.settings.worker_id, self.processed)
        return 0

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
                if self._stopping.is_set():
                    # Claimed as the stop arrived: hand it straight back, uncharged.
                    await self._quietly(self.consumer.release(job))
                    self._return_slots(1)
                    continue
                self._inflight[job.id] = job
                run = asyncio.create_task(self._run_job(job), name=f"job:{job.id}")
                self._runs.add(run)
                run.add_done_callback(self._runs.discard)

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

    async def _run_job(self, job: ClaimedJob) -> None:
        try:
            spec = self.tasks.get(job.envelope.task)
            if spec is None:
                await self.consumer.fail(
                    job,
                    code="unknown_task",
                    retry=False,
                    message=f"this worker does not serve task {job.envelope.task!r}",
                )
                return
            await self._execute(spec, job)
        except LeaseLost:
            log.warning("job %s: lease lost before it was settled; another attempt owns it now", job.id)
        except QueueUnavailable as exc:
            # The outcome could not be stored; the lease will lapse and the reaper retries the job.
            log.error("job %s: could not settle (%s)", job.id, exc)
        finally:
            self._inflight.pop(job.id, None)
            self._return_slots(1)
            self.processed += 1

    async def _execute(self, spec: TaskSpec, job: ClaimedJob) -> None:
        max_attempts = job.envelope.max_attempts
        try:
            value = spec.parse_input(job.envelope.input)
        except ValidationError as exc:
            details: list[JsonValue] = [
                {"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()
            ]
            await self.consumer.fail(
                job, code="invalid_input", message="input does not fit the task", details=details, retry=False
            )
            return
        timeout = job.envelope.timeout_s or spec.timeout_s
        try:
            output = await asyncio.wait_for(spec.call(value, self._executor), timeout)
            payload = spec.dump_output(output)
        except TimeoutError:
            await self.consumer.fail(
                job, code="timeout", message=f"the run took longer than {timeout}s", backoff=self.backoff
            )
            return
        except Exception as exc:
            log.info("job %s failed (attempt %d of %d): %r", job.id, job.attempts.error + 1, max_attempts, exc)
            await self.consumer.fail(
                job,
                code=type(exc).__name__,
                message=str(exc) or type(exc).__name__,
                details={"traceback": traceback.format_exc(limit=20)},
                backoff=self.backoff,
            )
            return
        try:
            await self.consumer.ack(job, payload)
        except ValueError as exc:
            await self.consumer.fail(job, code="invalid_output", message=str(exc), retry=False)

    async def _drain(self) -> None:
        if self._runs:
            _, pending = await asyncio.wait(set(self._runs), timeout=self.settings.drain_s)
            unfinished = list(self._inflight.values())
            for run in pending:
                run.cancel()
            if pending:
                # Bounded: a cancel absorbed mid-call must not hold the shutdown forever.
                await asyncio.wait(pending, timeout=5)
            for job in unfinished:
                log.info("job %s handed back unfinished (drain budget spent)", job.id)
                await self._quietly(self.consumer.release(job))
        # Threads still inside a handler cannot be stopped; the process exits without them.
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- control loops -----------------------------------------------------------------------------

    async def _renew_leases(self) -> None:
        held = list(self._inflight.values())
        if held:
            outcome = await self.consumer.renew(held)
            for job_id in outcome.lost:
                log.warning("job %s: lease lost", job_id)

    async def _reap(self) -> None:
        for queue in self.settings.queues:
            await self.reaper.run_once(queue)

    async def _heartbeat(self) -> None:
        # The catalog goes with every heartbeat: a Redis that restarted empty learns it again.
        await self.registry.publish_tasks([s.info() for s in self.tasks.values()])
        await self.registry.heartbeat(
            WorkerInfo(
                id=self.settings.worker_id,
                queues=self.settings.queues,
                slots=self.settings.concurrency,
                busy=len(self._inflight),
                processed=self.processed,
                started_at=self._started_at,
            ),
            ttl_s=self.settings.heartbeat_s * 3,
        )

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

    async def _quietly(self, call: Awaitable[None]) -> None:
        try:
            await call
        except (LeaseLost, QueueUnavailable) as exc:
            log.warning("ignored during shutdown: %s", exc)
