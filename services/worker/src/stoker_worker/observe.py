"""The observer seam: every job transition the runtime makes is told here, once.

Metrics, traces and job logs each implement ``JobObserver``; the runtime holds one ``Observers``
that fans each event out to all of them. Events arrive on the event loop, in the order they
happen to a job: ``claimed``, then one or more ``running`` blocks (a retry inside the process,
or a batch split, runs again), each attempt ending in ``attempt_failed``, ``evicted`` or
``finished``, and finally ``released`` when the worker lets go of the job, whatever happened.
An observer must be cheap and must not raise; ``Observers`` logs one that does and goes on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from stoker_queue import ClaimedJob, CrashedJob, JobStatus, Tick

if TYPE_CHECKING:
    from stoker_worker.device import DeviceInfo

log = logging.getLogger(__name__)


class JobObserver:
    """One concern's view of the runtime. Every method is a no-op here; override what you need."""

    def claimed(self, job: ClaimedJob) -> None:
        """The worker holds ``job`` now (its wait ended)."""

    @contextlib.contextmanager
    def running(self, task: str, jobs: Sequence[ClaimedJob]) -> Iterator[None]:
        """Wraps one handler call over ``jobs`` (one job, or a batch); the handler runs inside."""
        yield

    def attempt_failed(self, job: ClaimedJob, code: str, message: str, status: JobStatus) -> None:
        """The handler raised (or timed out) for ``job``; ``status`` is where the job went."""

    def finished(self, job: ClaimedJob, outcome: JobStatus, run_s: float) -> None:
        """``job`` ended ``succeeded``, ``failed`` or ``canceled`` after ``run_s`` in its handler."""

    def evicted(self, job: ClaimedJob) -> None:
        """``job`` was handed back unfinished (shutdown); it runs again elsewhere, uncharged."""

    def released(self, job: ClaimedJob) -> None:
        """The worker let go of ``job``: its outcome is stored, or it was handed back."""

    def attempt_trace(self, job: ClaimedJob) -> str | None:
        """This attempt's traceparent, stored with a retry so the next attempt can link to it."""
        return None

    def crashed(self, queue: str, jobs: Sequence[CrashedJob]) -> None:
        """This worker's reaper took ``jobs`` back from workers that stopped renewing their leases."""

    def setup_done(self, task: str, seconds: float) -> None:
        """A class task's ``setup()`` (model load) took ``seconds``."""

    def heartbeat(self, queues: Sequence[str], slots: int, device: DeviceInfo) -> None:
        """The periodic registry heartbeat went out."""

    def webhook(self, outcome: str) -> None:
        """One webhook delivery attempt ended: ``delivered``, ``failed`` or ``refused``."""

    def ticked(self, tick: Tick) -> None:
        """This worker's scheduler took a periodic task's tick: its job enqueued, or skipped (queue paused)."""


class Observers(JobObserver):
    """Fans every event out to ``observers``, in order; one that raises is logged and skipped."""

    def __init__(self, observers: Sequence[JobObserver]) -> None:
        self._observers = tuple(observers)

    def _each(self, event: str, *args: object) -> None:
        for observer in self._observers:
            try:
                getattr(observer, event)(*args)
            except Exception:
                log.exception("observer %s failed on %s", type(observer).__name__, event)

    def claimed(self, job: ClaimedJob) -> None:
        self._each("claimed", job)

    @contextlib.contextmanager
    def running(self, task: str, jobs: Sequence[ClaimedJob]) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for observer in self._observers:
                try:
                    stack.enter_context(observer.running(task, jobs))
                except Exception:
                    log.exception("observer %s failed on running", type(observer).__name__)
            yield

    def attempt_failed(self, job: ClaimedJob, code: str, message: str, status: JobStatus) -> None:
        self._each("attempt_failed", job, code, message, status)

    def finished(self, job: ClaimedJob, outcome: JobStatus, run_s: float) -> None:
        self._each("finished", job, outcome, run_s)

    def evicted(self, job: ClaimedJob) -> None:
        self._each("evicted", job)

    def released(self, job: ClaimedJob) -> None:
        self._each("released", job)

    def attempt_trace(self, job: ClaimedJob) -> str | None:
        for observer in self._observers:
            if (trace := observer.attempt_trace(job)) is not None:
                return trace
        return None

    def crashed(self, queue: str, jobs: Sequence[CrashedJob]) -> None:
        self._each("crashed", queue, jobs)

    def setup_done(self, task: str, seconds: float) -> None:
        self._each("setup_done", task, seconds)

    def heartbeat(self, queues: Sequence[str], slots: int, device: DeviceInfo) -> None:
        self._each("heartbeat", queues, slots, device)

    def webhook(self, outcome: str) -> None:
        self._each("webhook", outcome)

    def ticked(self, tick: Tick) -> None:
        self._each("ticked", tick)
