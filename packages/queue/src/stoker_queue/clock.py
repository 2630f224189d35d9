"""Time for the scripts.

In production every script reads Redis' own ``TIME``, so leases and delays do not depend on the
clocks of the machines that run workers. Tests pass a ``FakeClock`` to drive time by hand.
"""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int | None:
        """Milliseconds since the epoch, or None to let Redis use its own clock."""


class RedisClock:
    """Use the Redis server's clock (the default)."""

    def now_ms(self) -> int | None:
        return None


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.current_ms = start_ms

    def now_ms(self) -> int | None:
        return self.current_ms

    def advance(self, seconds: float) -> None:
        self.current_ms += round(seconds * 1000)
