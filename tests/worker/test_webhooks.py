"""Webhooks: signed, retried with backoff, filtered by event, never sent to internal addresses."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from stoker_queue import Broker, JobRequest, JobStatus, Producer, Reader, WebhookSpec
from stoker_queue.keys import QueueKeys
from stoker_worker.webhook_guard import WebhookRefused, check_destination
from stoker_worker.webhooks import sign
from tests.worker.conftest import StartWorker, wait_done

SECRET = "whsec-test-0123456789"


class Receiver:
    """A webhook endpoint on loopback that answers with the codes it is given, in turn."""

    def __init__(self, codes: list[int]) -> None:
        self.codes, self.requests = list(codes), []  # type: ignore[var-annotated]
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.codes.pop(0) if receiver.codes else 200)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    async def wait_for(self, n: int, timeout: float = 15) -> None:
        async with asyncio.timeout(timeout):
            while len(self.requests) < n:
                await asyncio.sleep(0.02)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([500])
    yield r
    r.close()


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = b'{"event":"succeeded"}'
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1_700_000_000, body) == f"t=1700000000,v1={expected}"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8080/x",
        "http://10.1.2.3/x",
        "http://192.168.0.10/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
        "ftp://example.com/x",
        "not a url",
    ],
)
async def test_internal_or_odd_destinations_are_refused(url: str) -> None:
    with pytest.raises(WebhookRefused):
        await check_destination(url, allow_private=False)


async def test_public_destinations_and_allowed_private_ones_pass() -> None:
    await check_destination("https://93.184.216.34/hook", allow_private=False)
    await check_destination("http://127.0.0.1:9/hook", allow_private=True)


async def test_delivery_is_signed_and_retried_until_accepted(
    broker: Broker, start_worker: StartWorker, receiver: Receiver
) -> None:
    producer, reader = Producer(broker), Reader(broker)
    await start_worker(webhook_allow_private=True, webhook_secret=SECRET)
    hook = WebhookSpec(url=receiver.url)
    job_id = (await producer.submit(JobRequest(task="echo", input={"a": 1}, webhook=hook))).id
    assert (await wait_done(reader, job_id)).status is JobStatus.SUCCEEDED
    await receiver.wait_for(2)  # the first answer was a 500
    (first_headers, _), (headers, body) = receiver.requests
    assert (first_headers["Stoker-Delivery"], headers["Stoker-Delivery"]) == ("1", "2")
    assert headers["Stoker-Event"] == "succeeded" and headers["Stoker-Job-Id"] == job_id
    stamp, digest = (part.split("=", 1)[1] for part in headers["Stoker-Signature"].split(","))
    assert hmac.compare_digest(
        digest, hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    )
    payload = json.loads(body)
    assert payload["event"] == "succeeded" and payload["output"] == {"a": 1} and payload["job"]["id"] == job_id
    await _settled(broker)
    assert _delivery(await _record(broker, job_id)) == ("delivered", 2, None)


async def test_failures_and_cancels_are_delivered_too_and_events_filter(
    broker: Broker, start_worker: StartWorker
) -> None:
    receiver = Receiver([])
    try:
        producer, reader = Producer(broker), Reader(broker)
        await start_worker(webhook_allow_private=True, webhook_secret=SECRET, webhook_poll_s=0.1)
        only_failures = WebhookSpec(url=receiver.url, events=("failed",))
        ignored = (await producer.submit(JobRequest(task="echo", webhook=only_failures))).id
        failed = (
            await producer.submit(JobRequest(task="explode", input={"x": "y"}, max_attempts=1, webhook=only_failures))
        ).id
        canceled = (
            await producer.submit(
                JobRequest(task="echo", queue="nobody-serves-this", webhook=WebhookSpec(url=receiver.url))
            )
        ).id
        await producer.cancel(canceled)
        await wait_done(reader, ignored)
        await wait_done(reader, failed)
        await receiver.wait_for(1)
        await asyncio.sleep(0.5)
        events = sorted((h["Stoker-Job-Id"], h["Stoker-Event"]) for h, _ in receiver.requests)
        assert events == [(failed, "failed")]  # the other queue is not this worker's to deliver
        ((_, body),) = receiver.requests
        error = json.loads(body)["job"]["error"]
        assert error["code"] == "RuntimeError" and "traceback" not in json.dumps(error)  # for admin keys only
        await _settled(broker)
        assert _delivery(await _record(broker, failed)) == ("delivered", 1, None)
        assert _delivery(await _record(broker, ignored)) == (None, None, None)  # nothing to deliver
        assert _delivery(await _record(broker, canceled, "nobody-serves-this")) == ("pending", 0, None)
    finally:
        receiver.close()


async def test_internal_destinations_are_never_called(
    broker: Broker, start_worker: StartWorker, receiver: Receiver
) -> None:
    producer, reader = Producer(broker), Reader(broker)
    await start_worker(webhook_secret=SECRET)
    url = f"{receiver.url}?token=s3cr3t"
    job_id = (await producer.submit(JobRequest(task="echo", webhook=WebhookSpec(url=url)))).id
    await wait_done(reader, job_id)
    await _settled(broker)
    assert receiver.requests == []
    state, attempts, error = _delivery(await _record(broker, job_id))
    assert (state, attempts) == ("refused", 1)  # refused once, never retried
    assert isinstance(error, str) and "127.0.0.1" in error
    assert SECRET not in error and "s3cr3t" not in error


async def test_a_webhook_that_keeps_failing_is_failed_with_its_last_error(
    broker: Broker, start_worker: StartWorker
) -> None:
    receiver = Receiver([503, 502])
    try:
        producer, reader = Producer(broker), Reader(broker)
        await start_worker(
            webhook_allow_private=True, webhook_secret=SECRET, webhook_max_attempts=2, webhook_poll_s=0.1
        )
        job_id = (await producer.submit(JobRequest(task="echo", webhook=WebhookSpec(url=receiver.url)))).id
        await wait_done(reader, job_id)
        await receiver.wait_for(2)
        await _settled(broker)
        assert _delivery(await _record(broker, job_id)) == ("failed", 2, "HTTP 502")
        assert len(receiver.requests) == 2
    finally:
        receiver.close()


async def test_an_answer_that_will_not_change_fails_at_once(broker: Broker, start_worker: StartWorker) -> None:
    receiver = Receiver([410])
    try:
        producer, reader = Producer(broker), Reader(broker)
        await start_worker(webhook_allow_private=True, webhook_secret=SECRET)
        job_id = (await producer.submit(JobRequest(task="echo", webhook=WebhookSpec(url=receiver.url)))).id
        await wait_done(reader, job_id)
        await _settled(broker)
        assert _delivery(await _record(broker, job_id)) == ("failed", 1, "HTTP 410")
    finally:
        receiver.close()


async def test_an_unreachable_receiver_records_the_connection_error(broker: Broker, start_worker: StartWorker) -> None:
    closed = Receiver([])
    closed.close()  # nothing listens on its port any more
    producer, reader = Producer(broker), Reader(broker)
    await start_worker(webhook_allow_private=True, webhook_max_attempts=1)
    job_id = (await producer.submit(JobRequest(task="echo", webhook=WebhookSpec(url=closed.url)))).id
    await wait_done(reader, job_id)
    await _settled(broker)
    state, attempts, error = _delivery(await _record(broker, job_id))
    assert (state, attempts) == ("failed", 1)
    assert isinstance(error, str) and error.startswith("ConnectError")


async def _settled(broker: Broker, queue: str = "default") -> None:
    """Until the outbox of ``queue`` is empty: every delivery there is settled."""
    async with asyncio.timeout(10):
        while await broker.redis.zcard(QueueKeys(queue).webhooks):
            await asyncio.sleep(0.02)


async def _record(broker: Broker, job_id: str, queue: str = "default") -> dict[str, Any]:
    """The job's record, straight from the state hash: the fields the API shows."""
    raw = await broker.redis.hget(QueueKeys(queue).state, job_id)
    assert raw is not None
    record: dict[str, Any] = json.loads(raw)
    return record


def _delivery(record: dict[str, Any]) -> tuple[object, object, object]:
    return record.get("webhook_state"), record.get("webhook_attempts"), record.get("webhook_error")
