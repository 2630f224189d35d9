"""Shared fixtures: real Redis servers (one per supported version), brokers, a clean environment."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from stoker_queue import Broker, FakeClock, RedisSettings
from tests.support.redis_cluster import redis_cluster
from tests.support.redis_server import find_binaries, redis_server
from tests.support.redis_tls import tls_redis

# The Redis versions the queue suite runs against; the newest serves every other suite.
SUPPORTED_REDIS = ("7.0", "6.2")
# What tests marked ``every_redis`` run on besides: a three-master Redis Cluster and a TLS-only Redis.
DEPLOYMENTS = ("cluster", "tls")


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)  # CI installs every version and tool: a missing one is a broken install
    pytest.skip(message)


def _start_or_skip(version: str) -> Iterator[str]:
    if url := os.environ.get("STOKER_TEST_REDIS_URL"):
        yield url
        return
    try:
        with redis_server(version) as url:
            yield url
    except LookupError:
        have = ", ".join(sorted(find_binaries())) or "none"
        _missing(f"no redis-server {version} on this machine (found: {have})")


def _newest_binary() -> str | None:
    have = find_binaries()
    return next((have[v] for v in SUPPORTED_REDIS if v in have), None)


def _deployment(name: str, workdir: Path) -> Iterator[RedisSettings]:
    binary = _newest_binary()
    try:
        if name == "cluster":
            if binary is None:
                raise LookupError("redis-server")
            with redis_cluster(binary, workdir) as ports:
                yield RedisSettings(redis_url=f"redis://127.0.0.1:{ports[0]}/0", redis_cluster=True)
        else:
            with tls_redis(binary, workdir) as server:
                yield RedisSettings(redis_url=server.url)
    except LookupError as exc:  # NoTlsSupport too
        _missing(f"no Redis {name} here: {exc}")


@pytest.fixture(scope="session")
def any_redis(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisSettings]:
    """Each supported Redis version in turn, for the queue suite; for tests marked ``every_redis``, also a
    Redis Cluster and a TLS Redis."""
    if request.param in DEPLOYMENTS:
        yield from _deployment(request.param, tmp_path_factory.mktemp(f"redis-{request.param}"))
    else:
        for url in _start_or_skip(request.param):
            yield RedisSettings(redis_url=url)


@pytest.fixture(scope="session")
def any_redis_url(any_redis: RedisSettings) -> str:
    """The URL of ``any_redis``, for tests that build their own settings (never on a cluster)."""
    return any_redis.redis_url


def pytest_configure(config: pytest.Config) -> None:
    marker = "every_redis(*targets): also runs on a Redis Cluster and a TLS Redis, or only on the targets named"
    config.addinivalue_line("markers", marker)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``any_redis`` takes each supported version; in a test marked ``every_redis``, each deployment too,
    or only those the marker names (``every_redis("cluster")``)."""
    if "any_redis" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("every_redis")
        targets = list(SUPPORTED_REDIS) if marker is None else list(marker.args or [*SUPPORTED_REDIS, *DEPLOYMENTS])
        metafunc.parametrize("any_redis", targets, indirect=True, scope="session")


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


async def _flushed_broker(settings: RedisSettings, clock: FakeClock | None) -> Broker:
    broker = Broker.from_settings(settings, clock=clock)
    await broker.redis.flushdb()
    return broker


@pytest.fixture
async def broker(any_redis: RedisSettings, clock: FakeClock) -> AsyncIterator[Broker]:
    """A broker on an empty database whose scripts run on the fake clock."""
    b = await _flushed_broker(any_redis, clock)
    yield b
    await b.close()


@pytest.fixture
async def live_broker(any_redis: RedisSettings) -> AsyncIterator[Broker]:
    """A broker on an empty database whose scripts use Redis' own clock (blocking and timing tests)."""
    b = await _flushed_broker(any_redis, None)
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
