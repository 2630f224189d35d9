"""Shared fixtures: real Redis servers (one per supported version), brokers, a clean environment."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from stoker_queue import Broker, FakeClock, RedisSettings
from tests.support.redis_server import find_binaries, redis_server

# The Redis versions the queue suite runs against; the newest serves every other suite.
SUPPORTED_REDIS = ("7.0", "6.2")


def _start_or_skip(version: str) -> Iterator[str]:
    if url := os.environ.get("STOKER_TEST_REDIS_URL"):
        yield url
        return
    try:
        with redis_server(version) as url:
            yield url
    except LookupError:
        have = ", ".join(sorted(find_binaries())) or "none"
        message = f"no redis-server {version} on this machine (found: {have})"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs every version: a missing one is a broken install
        pytest.skip(message)


@pytest.fixture(scope="session", params=SUPPORTED_REDIS)
def any_redis_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each supported Redis version in turn, for the queue suite."""
    yield from _start_or_skip(request.param)


@pytest.fixture(scope="session")
def newest_redis_url() -> Iterator[str]:
    """One server of the newest available version, for the API, worker and end-to-end suites."""
    have = find_binaries()
    version = next((v for v in SUPPORTED_REDIS if v in have), SUPPORTED_REDIS[0])
    yield from _start_or_skip(version)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the environment: no test sees what the shell running it exported."""
    for name in list(os.environ):
        ours = name.startswith(("API_", "WORKER_", "STOKER_", "OTEL_")) or name == "REDIS_URL"
        if ours and name != "STOKER_TEST_REDIS_URL":
            monkeypatch.delenv(name)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def _flushed_broker(url: str, clock: FakeClock | None) -> Broker:
    broker = Broker.from_settings(RedisSettings(redis_url=url), clock=clock)
    await broker.redis.flushdb()
    return broker


@pytest.fixture
async def broker(any_redis_url: str, clock: FakeClock) -> AsyncIterator[Broker]:
    """A broker on an empty database whose scripts run on the fake clock."""
    b = await _flushed_broker(any_redis_url, clock)
    yield b
    await b.close()


@pytest.fixture
async def live_broker(any_redis_url: str) -> AsyncIterator[Broker]:
    """A broker on an empty database whose scripts use Redis' own clock (blocking and timing tests)."""
    b = await _flushed_broker(any_redis_url, None)
    yield b
    await b.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``gpu`` run only where CUDA is visible."""
    try:
        import torch

        has_gpu = bool(torch.cuda.is_available())
    except ImportError:
        has_gpu = False
    if not has_gpu:
        skip = pytest.mark.skip(reason="no CUDA device here")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
