"""ApiSettings: read once from the environment (prefix ``API_``; Redis from ``REDIS_URL``)."""

from __future__ import annotations

import logging
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stoker_queue import Rate, RedisSettings
from stoker_queue.settings import split_commas

log = logging.getLogger(__name__)

# The share of redis_timeout_s one try of a Redis command gets: two tries and a backoff of up to 0.1 s fit.
TRY_SHARE = 0.35
# `API_SUBMIT_RATE=off`: no per-key limit.
NO_RATE = "off"


class ApiSettings(BaseSettings):
    """How the API serves.

    Args:
        host: interface uvicorn binds.
        port: TCP port.
        public_url: prefix for links in responses; empty means links relative to the host.
        auth_disabled: serve without keys (local development only; logged as a warning).
        api_keys: bearer keys that may submit and read (comma-separated; a Kubernetes Secret fills it).
        admin_keys: bearer keys that may also pause, resume, purge and retry dead-letter queues.
        submit_rate: per key, shared by every replica through Redis, e.g. ``50/s``; a batch of N costs N;
            ``off`` for none (the local stack).
        submit_burst: submissions a key may make at once from idle.
        max_body_bytes / max_input_bytes / max_metadata_bytes / max_batch_jobs: request limits.
        max_wait_s: the longest ``?wait=`` a request may hold the connection.
        stream_max_s: an event stream closes after this long (with a ``timeout`` event); clients reconnect.
        catalog_ttl_s: how long the task catalog is cached between reads of Redis.
        redis_timeout_s: how long a Redis call may take before the API answers 503.
        retry_after_s: the ``Retry-After`` sent with 503 while Redis is unreachable.
        reap_interval_s: how often the API promotes due delayed jobs and returns expired leases (shared
            with the workers through a lock), so queues move while their pools are scaled to zero.
        redis: the queue's Redis (``REDIS_URL`` and friends, unprefixed, shared with the worker).
    """

    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = ""
    auth_disabled: bool = False
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    admin_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    submit_rate: str = "100/s"
    submit_burst: int = Field(default=1000, ge=1)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_input_bytes: int = Field(default=4 * 1024 * 1024, ge=1)
    max_metadata_bytes: int = Field(default=4096, ge=1)
    max_batch_jobs: int = Field(default=1000, ge=1, le=10_000)
    max_wait_s: int = Field(default=60, ge=0, le=3600)
    stream_max_s: float = Field(default=3600.0, gt=0)
    catalog_ttl_s: float = Field(default=2.0, ge=0)
    redis_timeout_s: float = Field(default=1.0, gt=0)
    retry_after_s: int = Field(default=1, ge=1)
    reap_interval_s: float = Field(default=5.0, gt=0)
    redis: RedisSettings = Field(default_factory=RedisSettings)

    _split_commas = field_validator("api_keys", "admin_keys", mode="before")(split_commas)

    @field_validator("submit_rate")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        if value.strip().lower() != NO_RATE:
            Rate.parse(value)
        return value

    @model_validator(mode="after")
    def _keys_unless_disabled(self) -> ApiSettings:
        if not self.auth_disabled and not (self.api_keys or self.admin_keys):
            raise ValueError("set API_API_KEYS (and API_ADMIN_KEYS), or API_AUTH_DISABLED=true for local use")
        short = [k for k in [*self.api_keys, *self.admin_keys] if len(k.get_secret_value()) < 16]
        if short and not self.auth_disabled:
            raise ValueError("API keys must be at least 16 characters")
        return self

    @property
    def rate(self) -> Rate | None:
        """The per-key limit; None with ``off`` (the local stack's one anonymous user)."""
        if self.submit_rate.strip().lower() == NO_RATE:
            return None
        return Rate.parse(self.submit_rate, burst=self.submit_burst)

    def queue_redis(self) -> RedisSettings:
        """The Redis settings with timeouts short enough that an outage is a 503 within ``redis_timeout_s``.

        The queue's client tries a command that timed out once more, after a short backoff (``Broker``):
        each try gets ``TRY_SHARE`` of the budget, so both tries and the backoff fit in it, even against
        a Redis that accepts connections and answers nothing (frozen, or stalled).
        """
        per_try = self.redis_timeout_s * TRY_SHARE
        return self.redis.model_copy(
            update={
                "redis_socket_timeout_s": min(self.redis.redis_socket_timeout_s, per_try),
                "redis_connect_timeout_s": min(self.redis.redis_connect_timeout_s, per_try),
            }
        )
