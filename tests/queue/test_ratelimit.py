"""GCRA rate limits on the fake clock: steady rate, burst, cost, scopes apart."""

from __future__ import annotations

import pytest

from stoker_queue import Broker, FakeClock
from stoker_queue.ratelimit import Rate, RateLimiter

pytestmark = pytest.mark.every_redis  # the protocol, also on a Redis Cluster and a TLS Redis


def test_rates_parse() -> None:
    assert Rate.parse("10/s") == Rate(per_s=10, burst=10)
    assert Rate.parse("600 / min", burst=3) == Rate(per_s=10, burst=3)
    assert Rate.parse("36/h").per_s == 0.01
    for bad in ("10", "0/s", "ten/s", "5/day", "-1/s"):
        with pytest.raises(ValueError, match="not a rate"):
            Rate.parse(bad)


async def test_burst_then_the_steady_rate(broker: Broker, clock: FakeClock) -> None:
    limiter, rate = RateLimiter(broker), Rate(per_s=10, burst=5)
    assert [(await limiter.acquire("a", rate)).allowed for _ in range(6)] == [True] * 5 + [False]
    refused = await limiter.acquire("a", rate)
    assert refused.retry_after_s == pytest.approx(0.1)
    clock.advance(0.1)
    assert (await limiter.acquire("a", rate)).allowed
    assert not (await limiter.acquire("a", rate)).allowed
    clock.advance(1)  # ten more intervals: five refill the burst, the rest are not banked
    assert [(await limiter.acquire("a", rate)).allowed for _ in range(6)] == [True] * 5 + [False]
    assert (await limiter.acquire("b", rate)).allowed  # scopes are apart


async def test_cost_spends_several_at_once_and_over_burst_never_passes(broker: Broker, clock: FakeClock) -> None:
    limiter, rate = RateLimiter(broker), Rate(per_s=100, burst=50)
    assert (await limiter.acquire("k", rate, cost=40)).allowed
    refused = await limiter.acquire("k", rate, cost=20)
    assert not refused.allowed and refused.retry_after_s == pytest.approx(0.1)
    never = await limiter.acquire("k", rate, cost=51)
    assert not never.allowed and never.retry_after_s is None


def test_scope_of_a_secret_hides_it() -> None:
    scope = RateLimiter.scope_of("sk-very-secret")
    assert "secret" not in scope and scope == RateLimiter.scope_of("sk-very-secret")
