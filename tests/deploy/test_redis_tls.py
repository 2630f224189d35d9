"""The Redis settings the chart renders for TLS reach a real TLS Redis through the services' own broker,
with a password that would need escaping in a URL: with the private CA mounted where the chart mounts it,
or with verification off; and not without the CA."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from stoker_queue import Broker, RedisSettings
from tests.deploy.chart import Doc, env_map, one, render_yaml
from tests.support.redis_server import find_binaries
from tests.support.redis_tls import NoTlsSupport
from tests.support.redis_tls import tls_redis as start_tls_redis

PASSWORD = "tls p@ss:w/rd%41#?&0123456789"  # every character a URL would need escaped


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A redis-server with only a TLS port, its certificate signed by a CA made here; yields (port, ca)."""
    binary = next(iter(find_binaries().values()), None)
    try:
        with start_tls_redis(binary, tmp_path_factory.mktemp("tls"), password=PASSWORD) as server:
            yield server.port, server.ca
    except NoTlsSupport as exc:
        pytest.skip(str(exc))


def _api_env(docs: list[Doc]) -> tuple[dict[str, str], dict[str, str]]:
    """The API container's Redis variables as the kubelet sets them, and its volume mounts by name."""
    (container,) = one(docs, "Deployment", "demo-stoker-api")["spec"]["template"]["spec"]["containers"]
    (password,) = [e for e in container["env"] if e["name"] == "REDIS_PASSWORD"]
    assert password["valueFrom"]["secretKeyRef"]["name"] == "redis-password"
    env = {k: v for k, v in env_map(container).items() if k.startswith("REDIS_")} | {"REDIS_PASSWORD": PASSWORD}
    return env, {m["name"]: m["mountPath"] for m in container["volumeMounts"]}


def _ping(env: dict[str, str]) -> bool:
    """PING through the broker the services build from these variables."""

    async def ping() -> bool:
        broker = Broker.from_settings(RedisSettings(**{k.lower(): v for k, v in env.items()}))
        try:
            return bool(await broker.redis.ping())
        finally:
            await broker.close()

    return asyncio.run(ping())


def _values(port: int, **tls: object) -> dict[str, object]:
    password = {"existingSecret": "redis-password"}
    return {"externalRedis": {"host": "localhost", "port": port, "password": password, "tls": {"enabled": True, **tls}}}


def test_the_private_ca_where_the_chart_mounts_it(tls_redis: tuple[int, Path], tmp_path: Path) -> None:
    port, ca = tls_redis
    env, mounts = _api_env(render_yaml(_values(port, caSecret="redis-ca"), tmp_path))
    # Stand in for the kubelet: the Secret's ca.crt appears under the mount path.
    local = env["REDIS_URL"].replace(mounts["redis-tls"], str(ca.parent))
    assert local != env["REDIS_URL"]
    assert _ping(env | {"REDIS_URL": local})


def test_verification_off_connects_without_a_ca(tls_redis: tuple[int, Path], tmp_path: Path) -> None:
    port, _ = tls_redis
    env, _ = _api_env(render_yaml(_values(port, insecureSkipVerify=True), tmp_path))
    assert _ping(env)


def test_the_system_cas_do_not_trust_a_private_ca(tls_redis: tuple[int, Path], tmp_path: Path) -> None:
    port, _ = tls_redis
    env, _ = _api_env(render_yaml(_values(port), tmp_path))
    with pytest.raises(redis.ConnectionError):
        _ping(env)
