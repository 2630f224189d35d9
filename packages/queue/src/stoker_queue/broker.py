"""The connection every part shares: a Redis client, the registered scripts, the clock, the options."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from redis import exceptions as redis_errors
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from stoker_queue.clock import Clock, RedisClock
from stoker_queue.errors import QueueUnavailable
from stoker_queue.scripts import Scripts
from stoker_queue.settings import RedisSettings

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# Errors that mean "Redis is not there right now", as opposed to a bug in a command.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    redis_errors.ReadOnlyError,
    OSError,
)


def translate_errors(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Raise ``QueueUnavailable`` for a Redis outage, so callers need not know redis-py."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except UNAVAILABLE_ERRORS as exc:
            raise QueueUnavailable(f"redis is unreachable: {exc}") from exc

    return wrapper


@dataclass(frozen=True, slots=True)
class QueueOptions:
    """Retention and defaults that apply to every queue.

    Args:
        result_ttl_s: how long a result stays readable after the job succeeded.
        retention_s: how long a finished job's record stays readable.
        dead_max: most failed jobs kept per queue's dead-letter list; the oldest go first.
        idempotency_ttl_s: how long an idempotency key keeps pointing at its job.
    """

    result_ttl_s: float = 86_400.0
    retention_s: float = 86_400.0
    dead_max: int = 10_000
    idempotency_ttl_s: float = 86_400.0


@dataclass
class Broker:
    """A Redis client with Stoker's scripts registered on it."""

    redis: Redis | RedisCluster
    clock: Clock = field(default_factory=RedisClock)
    options: QueueOptions = field(default_factory=QueueOptions)
    scripts: Scripts = field(init=False)

    def __post_init__(self) -> None:
        self.scripts = Scripts(self.redis)

    @classmethod
    def from_settings(
        cls, settings: RedisSettings, *, clock: Clock | None = None, options: QueueOptions | None = None
    ) -> Broker:
        """A broker for ``settings.redis_url``. Connections open lazily, on the first command."""
        # Credentials in the URL win over these (redis-py's rule); apart from it, no escaping is needed.
        password = settings.redis_password.get_secret_value() or None if settings.redis_password else None
        conn: dict[str, Any] = {
            "username": settings.redis_username,
            "password": password,
            "max_connections": settings.redis_max_connections,
            "decode_responses": True,
            # Every value is JSON text this code wrote; bytes that are not UTF-8 are a corrupt record,
            # which must fail to parse where it is read (and be dead-lettered), not break the reply.
            "encoding_errors": "replace",
            "socket_timeout": settings.redis_socket_timeout_s,
            "socket_connect_timeout": settings.redis_connect_timeout_s,
            "health_check_interval": 30,
            # One quick retry hides a dropped idle connection; an outage still surfaces within a second.
            "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=1),
        }
        redis: Redis | RedisCluster
        if settings.redis_cluster:
            # The cluster client keeps a pool per node, capped at max_connections each.
            redis = RedisCluster.from_url(settings.redis_url, **conn)
        else:
            # A blocking pool caps concurrent commands per process: a burst waits for a connection
            # instead of failing with "too many connections".
            pool = BlockingConnectionPool.from_url(settings.redis_url, timeout=settings.redis_socket_timeout_s, **conn)
            redis = Redis.from_pool(pool)
        return cls(redis=redis, clock=clock or RedisClock(), options=options or QueueOptions())

    @property
    def cluster(self) -> bool:
        """Whether Redis is a Redis Cluster, where one pipeline cannot span nodes' scripts."""
        return isinstance(self.redis, RedisCluster)

    def now_ms(self) -> int | None:
        """The time to pass to scripts: None lets Redis use its own clock."""
        return self.clock.now_ms()

    def wall_ms(self) -> int:
        """The time for data written outside scripts (heartbeats): the fake clock, else this host's."""
        now = self.clock.now_ms()
        return time.time_ns() // 1_000_000 if now is None else now

    @translate_errors
    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def close(self) -> None:
        await self.redis.aclose()
