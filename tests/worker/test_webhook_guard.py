"""The webhook address guard: internal addresses in every form are refused, and a delivery connects to
the very address that was checked, with the original host name in ``Host`` and in TLS."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from stoker_queue import Backoff, Broker, Consumer, JobRequest, Producer, Reader, WebhookOutbox, WebhookSpec
from stoker_queue.keys import QueueKeys
from stoker_worker.webhook_guard import UnresolvedDestination, WebhookRefused, check_destination, resolve
from stoker_worker.webhooks import WebhookSender

REFUSED = [
    # Shared address space (carrier-grade NAT, RFC 6598), where some clouds answer metadata requests.
    "http://100.64.0.1/x",
    "http://100.100.100.200/latest/meta-data",
    "http://100.127.255.254/x",
    # 6to4 (2002::/16) around 10.0.0.1, 127.0.0.1 and 169.254.169.254.
    "http://[2002:a00:1::]/x",
    "http://[2002:7f00:1::1]/x",
    "http://[2002:a9fe:a9fe::]/x",
    # NAT64, the well-known prefix (64:ff9b::/96) around 10.0.0.1, 127.0.0.1, 169.254.169.254, 100.64.0.1.
    "http://[64:ff9b::a00:1]/x",
    "http://[64:ff9b::7f00:1]/x",
    "http://[64:ff9b::a9fe:a9fe]/x",
    "http://[64:ff9b::6440:1]/x",
    # NAT64 local-use prefix (64:ff9b:1::/48): inside the operator's own network by definition.
    "http://[64:ff9b:1::a00:1]/x",
    "http://[64:ff9b:1:ffff::5db8:d822]/x",
    # Teredo (2001::/32): a tunnel to a host behind a NAT; the client part here is 127.0.0.1.
    "http://[2001:0:5ef5:79fd::80ff:fffe]/x",
    "http://[2001:0:a00:1::1]/x",
    # IPv4-mapped, IPv4-compatible and IPv4-translated forms.
    "http://[::ffff:10.0.0.1]/x",
    "http://[::ffff:169.254.169.254]/x",
    "http://[::ffff:100.64.0.1]/x",
    "http://[::10.0.0.1]/x",
    "http://[::127.0.0.1]/x",
    "http://[::ffff:0:a00:1]/x",
    # Other internal IPv6: unique local, site-local (deprecated, still routed by some), a metadata address.
    "http://[fc00::1]/x",
    "http://[fec0::1]/x",
    "http://[fd00:ec2::254]/x",
    # IPv4 that is not public: benchmarking, documentation, multicast, broadcast.
    "http://198.18.0.1/x",
    "http://192.0.2.1/x",
    "http://224.0.0.1/x",
    "http://233.252.0.1/x",
    "http://255.255.255.255/x",
]

PUBLIC = [
    "https://93.184.216.34/hook",
    "http://[2606:2800:220:1:248:1893:25c8:1946]/x",
    # IPv6 forms around a public IPv4 are judged as that IPv4.
    "http://[2002:5db8:d822::1]/x",
    "http://[64:ff9b::5db8:d822]/x",
    "http://[::ffff:93.184.216.34]/x",
    # 100.63.x and 100.128.x sit just outside 100.64.0.0/10.
    "http://100.63.255.255/x",
    "http://100.128.0.1/x",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_internal_addresses_in_every_form_are_refused(url: str) -> None:
    with pytest.raises(WebhookRefused):
        await check_destination(url, allow_private=False)


@pytest.mark.parametrize("url", PUBLIC)
async def test_public_addresses_pass(url: str) -> None:
    destination = await check_destination(url, allow_private=False)
    assert len(destination.addresses) == 1


async def test_every_resolved_address_is_checked() -> None:
    resolver = Resolver({"hooks.test": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "10.0.0.7"]})
    with pytest.raises(WebhookRefused, match=r"10\.0\.0\.7"):
        await check_destination("https://hooks.test/x", allow_private=False, resolver=resolver)


async def test_a_name_that_does_not_resolve_is_not_refused_but_unresolved() -> None:
    # A DNS failure may pass: the delivery is retried, not refused for good.
    with pytest.raises(UnresolvedDestination):
        await check_destination("https://hooks.test/x", allow_private=False, resolver=Resolver({}))


async def test_allowing_private_addresses_still_resolves_once_and_pins() -> None:
    resolver = Resolver({"hooks.test": ["127.0.0.1"]})
    destination = await check_destination("http://hooks.test:8080/x", allow_private=True, resolver=resolver)
    assert destination.addresses == ("127.0.0.1",) and resolver.calls == ["hooks.test"]


async def test_the_refusal_names_the_host_but_not_the_url() -> None:
    resolver = Resolver({"hooks.test": ["10.0.0.7"]})
    with pytest.raises(WebhookRefused) as refused:
        await check_destination("https://user:pw@hooks.test/x?token=s3cr3t", allow_private=False, resolver=resolver)
    assert "hooks.test" in str(refused.value)
    assert "s3cr3t" not in str(refused.value) and "pw" not in str(refused.value)


# --- Delivery connects to the checked address ---------------------------------------------------


class Resolver:
    """A name server for made-up names: answers from a table, in turn when a name has several tables."""

    def __init__(self, table: dict[str, list[str]], *later: dict[str, list[str]]) -> None:
        self.tables, self.calls = [table, *later], []  # type: ignore[var-annotated]

    async def __call__(self, host: str, port: int) -> list[str]:
        table = self.tables[min(len(self.calls), len(self.tables) - 1)]
        self.calls.append(host)
        if host not in table:
            raise OSError(f"{host}: name or service not known")
        return table[host]


class Receiver:
    """An HTTP(S) endpoint on 127.0.0.1 that records each request's Host header and the TLS server name."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[dict[str, str]] = []
        self.server_names: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: receiver.server_names.append(name)  # type: ignore[assignment,func-returns-value]
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for ``hooks.test`` only (the openssl command line makes it)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command on this machine")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=hooks.test"),
            *("-addext", "subjectAltName=DNS:hooks.test", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


Deliver = Any


@pytest.fixture
async def deliver(broker: Broker) -> AsyncIterator[Deliver]:
    """Finish one job with a webhook to ``url`` and run one delivery round; returns the job's record."""
    senders: list[WebhookSender] = []

    async def run(url: str, *, resolver: Resolver, allow_private: bool, **options: Any) -> dict[str, Any]:
        producer, consumer = Producer(broker), Consumer(broker, worker_id="w", lease_s=30)
        job_id = (await producer.submit(JobRequest(task="echo", input={}, webhook=WebhookSpec(url=url)))).id
        (claimed,) = (await consumer.claim("default", 1)).jobs
        await consumer.ack(claimed, {})
        sender = WebhookSender(
            WebhookOutbox(broker),
            Reader(broker),
            secret=None,
            allow_private=allow_private,
            resolver=resolver,
            max_attempts=1,
            backoff=Backoff(base_s=0.01, cap_s=0.01),
            **options,
        )
        senders.append(sender)
        assert await sender.deliver_due("default") == 1
        raw = await broker.redis.hget(QueueKeys("default").state, job_id)
        assert raw is not None
        record: dict[str, Any] = json.loads(raw)
        return record

    yield run
    for sender in senders:
        await sender.close()


async def test_delivery_connects_to_the_resolved_address_with_the_original_host(
    deliver: Deliver, receiver: Receiver
) -> None:
    # The system resolver knows no ``hooks.test``: only the address the guard resolved can be reached.
    resolver = Resolver({"hooks.test": ["127.0.0.1"]})
    record = await deliver(f"http://hooks.test:{receiver.port}/hook", resolver=resolver, allow_private=True)
    assert record["webhook_state"] == "delivered"
    assert [r["Host"] for r in receiver.requests] == [f"hooks.test:{receiver.port}"]
    assert resolver.calls == ["hooks.test"]  # one lookup, no second one by the HTTP client


async def test_a_name_that_rebinds_after_the_check_is_not_followed(deliver: Deliver, receiver: Receiver) -> None:
    # First answer public (the check passes), every later one loopback: the delivery must not reach it.
    resolver = Resolver({"rebind.test": ["93.184.216.34"]}, {"rebind.test": ["127.0.0.1"]})
    record = await deliver(
        f"http://rebind.test:{receiver.port}/hook", resolver=resolver, allow_private=False, timeout_s=0.5
    )
    assert receiver.requests == []
    assert resolver.calls == ["rebind.test"]
    assert record["webhook_state"] == "failed"


async def test_the_next_address_is_tried_when_one_refuses_connections(deliver: Deliver, receiver: Receiver) -> None:
    resolver = Resolver({"hooks.test": ["::1", "127.0.0.1"]})  # the receiver listens on IPv4 only
    record = await deliver(f"http://hooks.test:{receiver.port}/hook", resolver=resolver, allow_private=True)
    assert record["webhook_state"] == "delivered" and len(receiver.requests) == 1


async def test_localhost_still_works_where_private_addresses_are_allowed(deliver: Deliver, receiver: Receiver) -> None:
    record = await deliver(f"http://localhost:{receiver.port}/hook", resolver=resolve, allow_private=True)
    assert record["webhook_state"] == "delivered"
    assert receiver.requests[0]["Host"] == f"localhost:{receiver.port}"


async def test_https_keeps_the_host_name_for_sni_and_certificate_checks(
    deliver: Deliver, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))
    receiver = Receiver(tls=server_tls)
    try:
        resolver = Resolver({"hooks.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
        options = {"resolver": resolver, "allow_private": True, "verify": client_tls}
        record = await deliver(f"https://hooks.test:{receiver.port}/hook", **options)
        assert record["webhook_state"] == "delivered"
        assert receiver.server_names == ["hooks.test"]
        assert receiver.requests[0]["Host"] == f"hooks.test:{receiver.port}"
        # Same address, another name: the certificate (for hooks.test only) must not be accepted for it.
        record = await deliver(f"https://other.test:{receiver.port}/hook", **options)
        assert record["webhook_state"] == "failed" and "certificate" in record["webhook_error"].lower()
        assert len(receiver.requests) == 1
    finally:
        receiver.close()


async def test_proxies_from_the_environment_are_not_used(
    deliver: Deliver, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy would connect on its own, not to the checked address (and verify TLS against the address).
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # the discard port: nothing answers there
    resolver = Resolver({"hooks.test": ["127.0.0.1"]})
    record = await deliver(f"http://hooks.test:{receiver.port}/hook", resolver=resolver, allow_private=True)
    assert record["webhook_state"] == "delivered" and len(receiver.requests) == 1
