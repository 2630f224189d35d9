"""Settings shared by both services: Redis (one ``REDIS_URL``, parsed once), and how a bad setting is told."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio.connection import parse_url


class RedisSettings(BaseSettings):
    """Where Redis is and how hard to try reaching it.

    Args:
        redis_url: ``redis://``, ``rediss://`` or ``unix://`` URL (env ``REDIS_URL``). With
            ``redis_cluster``, any one node of the cluster (``redis://`` or ``rediss://``, database 0).
        redis_cluster: Redis is a Redis Cluster (env ``REDIS_CLUSTER``): the client learns the nodes
            from the one in ``redis_url`` and sends each queue's commands to the node that holds its slot.
        redis_username: the ACL user (env ``REDIS_USERNAME``), where the URL names none.
        redis_password: the password (env ``REDIS_PASSWORD``), where the URL holds none. Apart from the
            URL it may hold any character: nothing needs escaping.
        redis_socket_timeout_s: how long one command may take before Redis counts as unreachable.
        redis_max_connections: cap on the pool; blocking claims hold one connection each.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_username: str | None = None
    redis_password: SecretStr | None = None
    redis_cluster: bool = False
    redis_socket_timeout_s: float = Field(default=5.0, gt=0)
    redis_connect_timeout_s: float = Field(default=2.0, gt=0)
    redis_max_connections: int = Field(default=64, ge=2)

    @field_validator("redis_url")
    @classmethod
    def _parses(cls, url: str) -> str:
        try:
            parse_url(url)
        except ValueError:
            # Neither the URL nor the parser's reason is shown: either may hold part of a password.
            raise ValueError(
                "not a Redis URL; use redis://[user:password@]host:port/db, rediss://... or unix://..."
            ) from None
        return url

    @model_validator(mode="after")
    def _cluster_url(self) -> Self:
        if self.redis_cluster:
            parts = parse_url(self.redis_url)
            if "path" in parts or int(parts.get("db") or 0) != 0:
                raise ValueError("a Redis Cluster is reached over TCP and has only database 0: use redis://host:port/0")
        return self


def split_commas(value: object) -> object:
    """For list settings given in the environment as ``a,b,c`` rather than JSON."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def settings_errors(exc: ValidationError, settings_cls: type[BaseSettings]) -> list[str]:
    """One line per invalid setting: its environment variable and what is wrong, never the value given.

    Pydantic's own message shows ``input_value=...``, which may be a password or an API key.

    Args:
        exc: what building ``settings_cls``, or a settings class it embeds, raised.
        settings_cls: the class that was built, for the environment prefix of the fields.
    """
    prefix = _env_prefix(settings_cls, exc.title)
    lines = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        message = error["msg"].removeprefix("Value error, ")
        loc = [str(part) for part in error["loc"]]
        if not loc:
            lines.append(message)
            continue
        name = (prefix + loc[0]).upper() if prefix is not None else loc[0]
        lines.append(f"{'.'.join([name, *loc[1:]])}: {message}")
    return lines


def _env_prefix(settings_cls: type[BaseSettings], title: str) -> str | None:
    embedded = [f.annotation for f in settings_cls.model_fields.values()]
    for cls in [settings_cls, *embedded]:
        if isinstance(cls, type) and issubclass(cls, BaseSettings) and cls.__name__ == title:
            return str(cls.model_config.get("env_prefix", ""))
    return None
