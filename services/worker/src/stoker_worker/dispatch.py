"""From claim to handler: each claimed job becomes an item in flight and goes to its batcher or runner.

Progress that a handler reports from its thread hops onto the event loop here and is written to
Redis; the answer tells whether a cancel was requested.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

from stoker_queue import ClaimedJob, Consumer, LeaseLost, QueueUnavailable
from stoker_worker.batching import Batcher
from stoker_worker.context import JobContext
from stoker_worker.execution import Item, JobRunner
from stoker_worker.inflight import InFlight
from stoker_worker.lifecycle import Lifecycle
from stoker_worker.observe import JobObserver
from stoker_worker.slots import Slots
from stoker_worker.task import TaskSpec

log = logging.getLogger(__name__)


class Dispatcher:
    """Hands claimed jobs to handlers and keeps track of the asyncio tasks that run them."""

    def __init__(
        self,
        *,
        consumer: Consumer,
        tasks: dict[str, TaskSpec],
        runner: JobRunner,
        inflight: InFlight,
        slots: Slots,
        lifecycle: Lifecycle,
        observer: JobObserver,
    ) -> None:
        self._consumer, self._tasks, self._runner = consumer, tasks, runner
        self._inflight, self._slots, self._lifecycle, self._observer = inflight, slots, lifecycle, observer
        self.batchers = {name: Batcher(spec, self.execute) for name, spec in tasks.items() if spec.batched}
        self.runs: set[asyncio.Task[None]] = set()

    @property
    def handlers_running(self) -> int:
        return self._runner.handlers_running

    async def dispatch(self, job: ClaimedJob) -> None:
        if self._lifecycle.stopping.is_set():
            # Claimed as the stop arrived: hand it straight back.
            with contextlib.suppress(LeaseLost, QueueUnavailable):
                await self._consumer.release(job)
                self._observer.evicted(job)
            self._slots.give_back(1)
            return
        loop = asyncio.get_running_loop()

        def on_progress(_: JobContext) -> None:  # from the handler's thread: hop onto the loop
            loop.call_soon_threadsafe(self._flush_progress, job.id, job.token)

        item = Item(job=job, context=JobContext(job.id, job.attempts.error + 1, on_progress=on_progress))
        self._inflight.add(item)
        self._observer.claimed(job)
        spec = self._tasks.get(job.envelope.task)
        if spec is None:
            self.spawn(self._hand_back(item), f"job:{job.id}")
        elif spec.batched:
            self.batchers[spec.name].add(item)
        else:
            self.spawn(self.execute(spec, [item]), f"job:{job.id}")

    async def execute(self, spec: TaskSpec, items: list[Item]) -> None:
        cancelled = False
        try:
            await self._runner.run(spec, items)
        except QueueUnavailable as exc:
            # The outcome could not be stored; the lease lapses and the reaper retries the job.
            log.error("task %s: could not settle %d jobs (%s)", spec.name, len(items), exc)
        except asyncio.CancelledError:
            cancelled = True  # the drain hands these jobs back, then settles them
            raise
        finally:
            if not cancelled:
                for item in items:
                    self._inflight.settle(item)

    async def _hand_back(self, item: Item) -> None:
        """A job of a task this worker lacks (claims filter them, so only a consumer without a task list
        gets one): handed back next in line, uncharged, for a worker that serves it."""
        log.warning("job %s: task %r is not served here; handed back", item.job.id, item.job.envelope.task)
        try:
            await self._consumer.release(item.job)
            self._observer.evicted(item.job)
        except (LeaseLost, QueueUnavailable) as exc:
            log.warning("job %s: %s", item.job.id, exc)
        finally:
            self._inflight.settle(item)

    def _flush_progress(self, job_id: str, token: int) -> None:
        item = self._inflight.attempt(job_id, token)
        progress = item.context.take_progress() if item else None
        if item is not None and progress is not None:
            self.spawn(self._write_progress(item, *progress), f"progress:{job_id}")

    async def _write_progress(self, item: Item, fraction: float, message: str) -> None:
        try:
            if await self._consumer.progress(item.job, fraction, message):
                item.context.mark_cancelled()
        except LeaseLost:
            item.context.mark_cancelled()  # another attempt owns the job now: stop at the next check
        except QueueUnavailable as exc:
            log.warning("job %s: progress not recorded (%s)", item.job.id, exc)

    def spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        task.set_name(name)
        self.runs.add(task)
        task.add_done_callback(self.runs.discard)
        return task
