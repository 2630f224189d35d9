"""Retry delays: exponential backoff with full jitter.

Full jitter spreads retries of jobs that failed together (a model server restart, say) instead of
sending them back in one wave: https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """``delay(n)`` for the n-th error (1-based): uniform in [base/2, min(cap, base * factor**(n-1))]."""

    base_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 300.0

    def ceiling(self, attempt: int) -> float:
        return float(min(self.cap_s, self.base_s * self.factor ** max(0, attempt - 1)))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        top = self.ceiling(attempt)
        low = min(top, self.base_s / 2)
        return (rng or random).uniform(low, top)
