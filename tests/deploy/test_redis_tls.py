"""The Redis settings the chart renders for TLS reach a real TLS Redis through the services' own broker,
with a password that would need escaping in a URL: with the private CA mounted where the chart mounts it,
or with verification off; and not without the CA."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from stoker_queue import Broker, RedisSettings
from tests.deploy.chart import Doc, env_map, one, render_yaml
from tests.support.redis_server import find_binaries, free_port

PASSWORD = "tls p@ss:w/rd%41#?&0123456789"  # every character a URL would need escaped


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A redis-server with only a TLS port, its certificate signed by a CA made here; yields (port, ca)."""
    binary = next(iter(find_binaries().values()), None)
    if binary is None or shutil.which("openssl") is None:
        pytest.skip("needs redis-server and openssl")
    d = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
             "-subj", "/CN=stoker-test-ca", cwd=d)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=d)  # fmt: skip
    (d / "ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "1", "-extfile", "ext", cwd=d)  # fmt: skip
    port = free_port()
    args = [binary, "--port", "0", "--tls-port", str(port), "--tls-cert-file", "server.crt"]
    args += ["--tls-key-file", "server.key", "--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no"]
    args += ["--requirepass", PASSWORD, "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        url = f"rediss://localhost:{port}/0?ssl_ca_certs={d / 'ca.crt'}"
        while True:
            try:
                redis.Redis.from_url(url, password=PASSWORD, socket_timeout=1).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.skip("this redis-server has no TLS support")
                time.sleep(0.05)
        yield port, d / "ca.crt"
    finally:
        proc.terminate()
        proc.wait(10)


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
