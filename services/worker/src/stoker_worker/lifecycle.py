"""A worker's life: running, stopping (no more claims, drain), closing (control loops end), and how it exits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from stoker_queue import QueueUnavailable

log = logging.getLogger(__name__)

EXIT_OK, EXIT_SETUP_FAILED, EXIT_HUNG = 0, 2, 3
# After an outage, wait this long (doubling up to the cap) before trying Redis again.
OUTAGE_BACKOFF_S, OUTAGE_BACKOFF_CAP_S = 0.2, 5.0


class Lifecycle:
    """The stop and close events every loop watches, and the exit code.

    Control loops end on ``closing`` rather than on cancellation: a cancel that lands inside a
    Redis call can be absorbed by the client, leaving the loop running.
    """

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.closing = asyncio.Event()
        self.exit_code = EXIT_OK
        self.setup_done = False  # every task's setup() succeeded: readiness may pass
        self._on_stop: list[Callable[[], None]] = []

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once when the stop arrives (wake whatever waits for work)."""
        self._on_stop.append(callback)

    def stop(self, exit_code: int | None = None) -> bool:
        """Begin stopping; False if already stopping. ``exit_code`` replaces ``EXIT_OK``."""
        if exit_code is not None:
            self.exit_code = exit_code
        if self.stopping.is_set():
            return False
        self.stopping.set()
        for callback in self._on_stop:
            callback()
        return True

    def hung(self, task: str, grace_s: float) -> None:
        """A handler of ``task`` ignored its timeout: hand back the other jobs and exit for a restart."""
        log.error(
            "a handler of task %s did not return %.0fs after its timeout; handing back the other jobs and "
            "exiting so the pod is restarted",
            task,
            grace_s,
        )
        self.stop(EXIT_HUNG)

    async def sleep_unless_stopping(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    async def every(self, interval_s: float, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step`` on a fixed schedule until closing; an error is logged and the loop goes on."""
        while not self.closing.is_set():
            try:
                await step()
            except QueueUnavailable as exc:
                log.warning("%s: redis unreachable (%s)", step.__name__, exc)
            except Exception:
                log.exception("%s failed", step.__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closing.wait(), interval_s)

    async def until_stopped(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Run ``fn`` until it succeeds, backing off while Redis is unreachable, or until stopping."""
        backoff = OUTAGE_BACKOFF_S
        while not self.stopping.is_set():
            try:
                await fn()
                return
            except QueueUnavailable as exc:
                log.warning("redis unreachable at start (%s); retrying in %.1fs", exc, backoff)
                await self.sleep_unless_stopping(backoff)
                backoff = min(backoff * 2, OUTAGE_BACKOFF_CAP_S)
