"""ApiSettings: read once from the environment (prefix ``API_``; Redis from ``REDIS_URL``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from stoker_queue import RedisSettings


class ApiSettings(BaseSettings):
    """How the API serves.

    Args:
        host: interface uvicorn binds.
        port: TCP port.
        public_url: prefix for links in responses; empty means links relative to the host.
        retry_after_s: the ``Retry-After`` sent with 503 while Redis is unreachable.
        redis: the queue's Redis (``REDIS_URL`` and friends, unprefixed, shared with the worker).
    """

    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = ""
    retry_after_s: int = Field(default=1, ge=1)
    redis: RedisSettings = Field(default_factory=RedisSettings)
