"""Running jobs: one path for single jobs and batches, each job settled on its own.

- Inputs are parsed per job; one that does not fit fails alone, permanently.
- A CUDA out-of-memory error splits the batch in halves and runs each; a single job that still
  does not fit fails (and is retried, maybe on a larger GPU).
- Any other error in a batch runs its jobs one by one, so only the bad input fails.
- A handler past its timeout fails its jobs with ``timeout``; if its thread is still busy after a
  grace period, the worker is told the handler hung (it then exits so Kubernetes restarts it).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import JsonValue, ValidationError

from stoker_queue import Backoff, ClaimedJob, Consumer, JobStatus, LeaseLost, QueueUnavailable, RateLimiter
from stoker_worker.context import JobCancelled, JobContext
from stoker_worker.observe import JobObserver
from stoker_worker.task import TaskSpec

log = logging.getLogger(__name__)

T = TypeVar("T")
SETTLE_RETRY_S = (0.05, 1.0)  # first and longest pause between tries to store an outcome during an outage


class HandlerTimeout(Exception):
    pass


def is_out_of_memory(exc: BaseException) -> bool:
    """``torch.cuda.OutOfMemoryError``, recognised without importing torch."""
    return type(exc).__name__ == "OutOfMemoryError" and type(exc).__module__.split(".")[0] == "torch"


@dataclass
class Item:
    """A claimed job on its way through a handler."""

    job: ClaimedJob
    context: JobContext
    value: Any = None
    started: float = field(default_factory=time.monotonic)
    settling: bool = False  # its outcome is being stored: a renewal that misses it is no lost lease
    ran: bool = False  # its handler returned or raised: its slot may take the next job meanwhile


class JobRunner:
    """Runs a task's handler over items and settles every job, telling ``observer`` each outcome."""

    def __init__(
        self,
        consumer: Consumer,
        limiter: RateLimiter,
        observer: JobObserver,
        backoff: Backoff,
        threads: ThreadPoolExecutor,
        *,
        concurrency: int,
        hung_grace_s: float,
        on_hung: Callable[[str], None],
        on_ran: Callable[[Item], None] = lambda _: None,
    ) -> None:
        self._consumer, self._limiter, self._observer = consumer, limiter, observer
        self._backoff, self._threads = backoff, threads
        self._hung_grace_s, self._on_hung, self._on_ran = hung_grace_s, on_hung, on_ran
        # Slots may exceed the concurrency, to fill the next batch while one runs; single jobs never do.
        self._singles = asyncio.Semaphore(concurrency)
        self._handlers: set[Future[Any]] = set()

    @property
    def handlers_running(self) -> int:
        """Handler calls still running in threads (after a hand-back, say); idle threads are not counted."""
        return sum(1 for f in self._handlers if not f.done())

    async def run(self, spec: TaskSpec, items: list[Item]) -> None:
        ready = [item for item in items if await self._prepare(spec, item)]
        if not ready:
            return
        await self._wait_for_rate(spec, len(ready))
        await self._call(spec, ready)

    async def _prepare(self, spec: TaskSpec, item: Item) -> bool:
        if item.context.cancelled:
            await self._cancelled(spec, item)
            return False
        try:
            item.value = spec.parse_input(item.job.envelope.input)
        except ValidationError as exc:
            details: list[JsonValue] = [
                {"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()
            ]
            await self._fail(spec, item, "invalid_input", "input does not fit the task", details, retry=False)
            return False
        return True

    async def _wait_for_rate(self, spec: TaskSpec, cost: int) -> None:
        rate = spec.options.rate_limit
        while rate is not None:
            decision = await self._limiter.acquire(f"task-{spec.name}", rate, cost)
            if decision.allowed:
                return
            # Leases keep being renewed while the jobs wait their turn.
            await asyncio.sleep(min(5.0, decision.retry_after_s or 1.0))

    async def _call(self, spec: TaskSpec, items: list[Item]) -> None:
        timeout = max((i.job.envelope.timeout_s or spec.options.timeout_s or 0) for i in items) or None
        try:
            outputs = await self._in_turn(spec, items, timeout)
        except JobCancelled:
            # The cancelled jobs end; in a batch, the others run again on their own.
            for item in items:
                alone = len(items) == 1
                await (self._cancelled(spec, item) if alone or item.context.cancelled else self._call(spec, [item]))
            return
        except HandlerTimeout:
            for item in items:
                await self._fail(spec, item, "timeout", f"the run took longer than {timeout}s", None, retry=True)
            return
        except Exception as exc:
            await self._on_error(spec, items, exc)
            return
        for item, output in zip(items, outputs, strict=True):
            # A handler that saw ctx.cancelled and returned early did not finish its job.
            await (self._cancelled(spec, item) if item.context.cancelled else self._succeed(spec, item, output))

    async def _on_error(self, spec: TaskSpec, items: list[Item], exc: Exception) -> None:
        if len(items) > 1 and is_out_of_memory(exc):
            half = len(items) // 2
            log.warning("task %s: out of memory on a batch of %d; splitting it", spec.name, len(items))
            await self._call(spec, items[:half])
            await self._call(spec, items[half:])
        elif len(items) > 1:
            log.info("task %s: a batch of %d raised %r; running its jobs one by one", spec.name, len(items), exc)
            for item in items:
                await self._call(spec, [item])
        else:
            code = "out_of_memory" if is_out_of_memory(exc) else type(exc).__name__
            details: JsonValue = {"traceback": "".join(traceback.format_exception(exc, limit=20))[-8000:]}
            await self._fail(spec, items[0], code, str(exc) or type(exc).__name__, details, retry=True)

    async def _in_turn(self, spec: TaskSpec, items: list[Item], limit_s: float | None) -> list[Any]:
        """The handler over ``items`` once it is their turn (single jobs: ``concurrency`` at once). Their
        outcomes are stored after this returns: the next jobs need not wait for that round trip."""
        async with contextlib.nullcontext() if spec.batched else self._singles:
            for item in items:
                item.started = time.monotonic()
            try:
                with self._observer.running(spec.name, [i.job for i in items]):
                    return await self._invoke(spec, items, limit_s)
            finally:
                for item in items:
                    self._on_ran(item)

    async def _invoke(self, spec: TaskSpec, items: list[Item], limit_s: float | None) -> list[Any]:
        values = [i.value for i in items] if spec.batched else items[0].value
        contexts = [i.context for i in items] if spec.batched else items[0].context
        if spec.is_async:
            try:
                result = await asyncio.wait_for(spec.invoke(values, contexts), limit_s)
            except TimeoutError:
                raise HandlerTimeout from None
        else:
            # The thread runs in this context: the job's span and log fields reach the handler.
            running = self._threads.submit(contextvars.copy_context().run, spec.invoke, values, contexts)
            self._handlers.add(running)
            running.add_done_callback(self._handlers.discard)
            try:
                result = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(running)), limit_s)
            except TimeoutError:
                asyncio.get_running_loop().create_task(self._watch_hung(spec, running))
                raise HandlerTimeout from None
        outputs = list(result) if spec.batched else [result]
        if len(outputs) != len(items):
            raise ValueError(f"the handler returned {len(outputs)} outputs for {len(items)} inputs")
        return outputs

    async def _watch_hung(self, spec: TaskSpec, running: Any) -> None:
        done, _ = await asyncio.wait([asyncio.wrap_future(running)], timeout=self._hung_grace_s)
        if not done:
            self._on_hung(spec.name)

    # -- settling ----------------------------------------------------------------------------------

    async def _store(self, item: Item, outcome: Callable[[], Awaitable[T]]) -> T:
        """Store a job's outcome, trying again while Redis is unreachable. The lease stays this worker's
        until a reaper takes it, so a job that finished during an outage is settled once Redis is back,
        not run again and charged a crash; after two leases' time the outage wins (the reaper re-runs it)."""
        item.settling = True
        deadline = time.monotonic() + 2 * self._consumer.lease_s
        pause, longest = SETTLE_RETRY_S
        while True:
            try:
                return await outcome()
            except QueueUnavailable as exc:
                if time.monotonic() + pause > deadline:
                    raise
                log.warning("job %s: redis unreachable, the outcome waits (%s)", item.job.id, exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, longest)

    async def _succeed(self, spec: TaskSpec, item: Item, output: Any) -> None:
        try:
            payload = spec.dump_output(output)
            await self._store(item, lambda: self._consumer.ack(item.job, payload))
        except (ValueError, TypeError) as exc:  # not JSON, or not what the task declared
            await self._fail(spec, item, "invalid_output", str(exc)[:1000], None, retry=False)
            return
        except LeaseLost:
            log.warning("job %s: finished after its lease was lost; the result was dropped", item.job.id)
            return
        self._record_end(spec, item, JobStatus.SUCCEEDED)

    async def _fail(
        self, spec: TaskSpec, item: Item, code: str, message: str, details: JsonValue, *, retry: bool
    ) -> None:
        trace = self._observer.attempt_trace(item.job)
        try:
            status = await self._store(
                item,
                lambda: self._consumer.fail(
                    item.job,
                    code=code,
                    message=message,
                    details=details,
                    retry=retry,
                    backoff=self._backoff,
                    trace=trace,
                ),
            )
        except LeaseLost:
            log.warning("job %s: failed after its lease was lost", item.job.id)
            return
        self._observer.attempt_failed(item.job, code, message, status)
        if status in (JobStatus.FAILED, JobStatus.CANCELED):
            self._record_end(spec, item, status)

    async def _cancelled(self, spec: TaskSpec, item: Item) -> None:
        try:
            await self._store(item, lambda: self._consumer.canceled(item.job))
        except LeaseLost:
            return
        self._record_end(spec, item, JobStatus.CANCELED)

    def _record_end(self, spec: TaskSpec, item: Item, status: JobStatus) -> None:
        self._observer.finished(item.job, status, time.monotonic() - item.started)
