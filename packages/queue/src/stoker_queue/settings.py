"""Redis connection settings shared by both services: one ``REDIS_URL``, parsed once."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RedisSettings(BaseSettings):
    """Where Redis is and how hard to try reaching it.

    Args:
        redis_url: ``redis://``, ``rediss://`` or ``unix://`` URL (env ``REDIS_URL``).
        redis_socket_timeout_s: how long one command may take before Redis counts as unreachable.
        redis_max_connections: cap on the pool; blocking claims hold one connection each.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_socket_timeout_s: float = Field(default=5.0, gt=0)
    redis_connect_timeout_s: float = Field(default=2.0, gt=0)
    redis_max_connections: int = Field(default=64, ge=2)


def split_commas(value: object) -> object:
    """For list settings given in the environment as ``a,b,c`` rather than JSON."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value
