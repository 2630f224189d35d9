"""What a running handler can see and say: progress, and whether its job was asked to cancel."""

from __future__ import annotations

import threading
from collections.abc import Callable


class JobCancelled(Exception):
    """Raised by ``progress()`` and ``raise_if_cancelled()`` once a cancel was requested.

    The runtime ends the job as ``canceled``; a handler may also raise it itself.
    """


class JobContext:
    """Passed to a handler that declares a parameter annotated ``JobContext``.

    Safe to use from the handler's thread: ``progress`` only records and signals; the runtime
    writes it to Redis on the event loop, and learns about cancel requests on the way back.
    """

    def __init__(self, job_id: str, attempt: int, on_progress: Callable[[JobContext], None] | None = None) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._progress: tuple[float, str] | None = None
        self._on_progress = on_progress

    @property
    def cancelled(self) -> bool:
        """True once a cancel was requested for this job."""
        return self._cancelled.is_set()

    def raise_if_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise JobCancelled(self.job_id)

    def progress(self, fraction: float, message: str = "") -> None:
        """Report how far the job has got (0..1). Raises ``JobCancelled`` if a cancel was requested."""
        self.raise_if_cancelled()
        with self._lock:
            self._progress = (min(1.0, max(0.0, float(fraction))), message)
        if self._on_progress is not None:
            self._on_progress(self)

    # -- runtime side ------------------------------------------------------------------------------

    def take_progress(self) -> tuple[float, str] | None:
        with self._lock:
            progress, self._progress = self._progress, None
        return progress

    def mark_cancelled(self) -> None:
        self._cancelled.set()
