"""A Redis that speaks only TLS, its certificate signed by a CA made for the test with ``openssl``."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.support.redis_server import free_port


class NoTlsSupport(LookupError):
    """The binary or ``openssl`` is missing, or the binary was built without TLS."""


@dataclass(frozen=True, slots=True)
class TlsRedis:
    port: int
    ca: Path

    @property
    def url(self) -> str:
        """A ``rediss://`` URL that trusts the private CA."""
        return f"rediss://localhost:{self.port}/0?ssl_ca_certs={self.ca}"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(d: Path) -> None:
    """``ca.crt`` and ``server.crt``/``server.key`` for localhost and 127.0.0.1, valid for a day."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
             "-subj", "/CN=stoker-test-ca", cwd=d)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=d)  # fmt: skip
    (d / "ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "1", "-extfile", "ext", cwd=d)  # fmt: skip


@contextmanager
def tls_redis(binary: str | None, workdir: Path, *, password: str | None = None) -> Iterator[TlsRedis]:
    """Start ``binary`` with only a TLS port (no client certificates asked); stopped afterwards.

    Raises:
        NoTlsSupport: no binary, no ``openssl``, or a binary that cannot serve TLS.
    """
    if binary is None or shutil.which("openssl") is None:
        raise NoTlsSupport("needs redis-server and openssl")
    make_certificates(workdir)
    server = TlsRedis(port=free_port(), ca=workdir / "ca.crt")
    args = [binary, "--port", "0", "--tls-port", str(server.port), "--tls-cert-file", "server.crt"]
    args += ["--tls-key-file", "server.key", "--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no"]
    args += ["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"]
    args += ["--requirepass", password] if password else []
    proc = subprocess.Popen(args, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(server.url, password=password, socket_timeout=1).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise NoTlsSupport(f"{binary} serves no TLS") from None
                time.sleep(0.05)
        yield server
    finally:
        proc.terminate()
        proc.wait(10)
