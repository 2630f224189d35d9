"""What the kubelet asks: is the worker alive (its own loops turn), and may it receive work."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from stoker_queue import Broker, QueueUnavailable
from stoker_worker.lifecycle import EXIT_HUNG, Lifecycle
from stoker_worker.settings import WorkerSettings


class Probes:
    """Liveness and readiness answers for the health server."""

    def __init__(
        self,
        broker: Broker,
        settings: WorkerSettings,
        lifecycle: Lifecycle,
        *,
        last_beat: Callable[[], float],
    ) -> None:
        self._broker, self._settings, self._lifecycle = broker, settings, lifecycle
        self._last_beat = last_beat

    async def live(self) -> tuple[bool, str]:
        if self._lifecycle.exit_code == EXIT_HUNG:
            return False, "a handler hung"
        s = self._settings
        stale = time.monotonic() - self._last_beat() > 3 * s.heartbeat_s + s.claim_block_s
        return (not stale), ("the event loop is stuck" if stale else "the event loop turns")

    async def ready(self) -> tuple[bool, str]:
        if not self._lifecycle.setup_done:
            return False, "task setup is running"
        if self._lifecycle.stopping.is_set():
            return False, "stopping"
        try:
            await asyncio.wait_for(self._broker.ping(), 1)
        except (QueueUnavailable, TimeoutError):
            return False, "redis is unreachable"
        return True, "ready"
