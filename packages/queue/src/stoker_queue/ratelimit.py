"""Rate limits shared by every process through Redis: the API's per-key submission limit and,
for workers, per-task limits. GCRA keeps one small value per scope and needs no cleanup."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from stoker_queue.broker import Broker, translate_errors
from stoker_queue.keys import rate_limit_key

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$")
_UNIT_S = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_s`` requests a second on average, ``burst`` more at once."""

    per_s: float
    burst: int = 1

    @classmethod
    def parse(cls, text: str, burst: int | None = None) -> Rate:
        """``"10/s"``, ``"600/min"``, ``"5/h"``.

        Raises:
            ValueError: not a rate.
        """
        match = _RATE.match(text)
        if not match or float(match.group(1)) <= 0:
            raise ValueError(f"not a rate: {text!r} (use e.g. '10/s', '600/min')")
        per_s = float(match.group(1)) / _UNIT_S[match.group(2)]
        return cls(per_s=per_s, burst=burst if burst is not None else max(1, int(per_s)))


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after_s: float | None  # None when allowed, or when the cost can never pass (over the burst)


class RateLimiter:
    """Checks and spends a scope's allowance.

    Args:
        broker: the shared connection.
    """

    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    @staticmethod
    def scope_of(secret: str) -> str:
        """A scope name for a secret (an API key) that never stores the secret itself."""
        return "key-" + hashlib.sha256(secret.encode()).hexdigest()[:20]

    @translate_errors
    async def acquire(self, scope: str, rate: Rate, cost: int = 1) -> Decision:
        """Spend ``cost`` from ``scope``'s allowance if it has that much."""
        allowed, retry_ms = await self._broker.scripts.ratelimit(
            rate_limit_key(scope), self._broker.now_ms(), 1000 / rate.per_s, rate.burst, cost
        )
        if allowed:
            return Decision(True, None)
        return Decision(False, None if retry_ms < 0 else retry_ms / 1000)
