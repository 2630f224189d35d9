"""Webhook delivery: POST each finished job to its URL, signed, retried, never to internal addresses.

Each delivery resolves the URL's host once, refuses it if any address is internal (``webhook_guard``)
and connects to a checked address. How it went is recorded on the job (``stoker_queue.outbox``):
``pending`` until settled, then ``delivered``, ``failed`` (retries spent) or ``refused``.

Headers sent with every delivery:

- ``Stoker-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the shared secret>``
- ``Stoker-Event`` (the final status), ``Stoker-Job-Id``, ``Stoker-Delivery`` (attempt number).

Receivers recompute the HMAC over the raw body and reject old timestamps to stop replays.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import ssl
import time
from collections.abc import Callable

import httpx

from stoker_queue import Backoff, Job, PendingWebhook, QueueUnavailable, Reader, ResultExpired, WebhookOutbox
from stoker_worker.webhook_guard import (
    Destination,
    Resolver,
    UnresolvedDestination,
    WebhookRefused,
    check_destination,
    resolve,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Stoker-Signature"
# Deliveries taken from one queue's outbox at a time.
WEBHOOK_BATCH = 32
# Answers that will not change however often we ask.
PERMANENT_FAILURES = frozenset({400, 401, 403, 404, 405, 410, 413, 422})


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _describe(exc: Exception, destination: Destination) -> str:
    """``Type: message`` for ``webhook_error``, without the URL (its path or query may hold a token)."""
    text = str(exc)
    for url in (destination.url, *map(destination.url_for, destination.addresses)):
        text = text.replace(str(url), destination.host_header)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class WebhookSender:
    """Takes due deliveries from the outbox of each queue, sends them and records how each went.

    Args:
        outbox: the queue core's webhook outbox.
        reader: to attach a succeeded job's output.
        secret: the HMAC key shared with receivers; None sends unsigned (and says so once).
        allow_private: permit internal destinations (development, in-cluster receivers).
        on_outcome: told ``delivered``, ``failed`` or ``refused`` after each delivery attempt.
        resolver: host name lookup, once per delivery; the system's by default.
        verify: TLS verification for https receivers: True (the system's CAs) or a context of one's own.
    """

    def __init__(
        self,
        outbox: WebhookOutbox,
        reader: Reader,
        *,
        secret: str | None,
        allow_private: bool,
        timeout_s: float = 10.0,
        max_attempts: int = 8,
        backoff: Backoff | None = None,
        on_outcome: Callable[[str], None] = lambda _: None,
        resolver: Resolver = resolve,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._outbox, self._reader = outbox, reader
        self._on_outcome = on_outcome
        self._secret, self._allow_private, self._resolver = secret, allow_private, resolver
        self._max_attempts = max_attempts
        self._backoff = backoff or Backoff(base_s=2, cap_s=600)
        # No keep-alive: connections are pooled by address, and a TLS connection checked for one host
        # name must not carry a delivery to another name that resolves to the same address.
        # A transport of our own also keeps HTTP(S)_PROXY out (SSL_CERT_FILE still applies): a proxy
        # would make the connection itself, and its tunnel checks TLS against the address, not the name.
        transport = httpx.AsyncHTTPTransport(verify=verify, limits=httpx.Limits(max_keepalive_connections=0))
        self._client = httpx.AsyncClient(
            transport=transport, timeout=timeout_s, follow_redirects=False, headers={"User-Agent": "stoker-webhooks/1"}
        )
        self._warned_unsigned = False

    async def deliver_due(self, queue: str) -> int:
        """Send every due delivery of ``queue``; returns how many were taken."""
        pending = await self._outbox.take(queue, WEBHOOK_BATCH, visibility_s=60)
        await asyncio.gather(*(self._deliver(p) for p in pending))
        return len(pending)

    async def _deliver(self, pending: PendingWebhook) -> None:
        job, hook = pending.job, pending.job.envelope.webhook
        try:
            if hook is None or job.status.value not in hook.events:
                await self._outbox.skip(pending)
                return
            try:
                destination = await check_destination(
                    hook.url, allow_private=self._allow_private, resolver=self._resolver
                )
            except WebhookRefused as exc:
                log.warning("webhook of job %s refused: %s", job.id, exc)
                self._on_outcome("refused")
                await self._outbox.refused(pending, error=str(exc))
                return
            await self._send(pending, destination)
        except UnresolvedDestination as exc:
            self._on_outcome("failed")
            await self._failed(pending, str(exc), permanent=False)
        except QueueUnavailable as exc:
            log.warning("webhook of job %s: redis unreachable (%s); the outbox keeps it", job.id, exc)

    async def _send(self, pending: PendingWebhook, destination: Destination) -> None:
        job = pending.job
        body = await self._body(job)
        try:
            response = await self._post(destination, body, self._headers(job, body, pending.attempt))
        except httpx.HTTPError as exc:
            reason, permanent = _describe(exc, destination), False
        else:
            if response.is_success:
                self._on_outcome("delivered")
                await self._outbox.delivered(pending)
                return
            reason = f"HTTP {response.status_code}"
            permanent = response.status_code in PERMANENT_FAILURES
        self._on_outcome("failed")
        await self._failed(pending, reason, permanent=permanent)

    async def _post(self, destination: Destination, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST to the checked addresses in turn, moving on only when one refuses the connection."""
        headers = {**headers, "Host": destination.host_header}
        extensions = {"sni_hostname": destination.server_name}
        error: httpx.ConnectError | None = None
        for address in destination.addresses:
            try:
                return await self._client.post(
                    destination.url_for(address), content=body, headers=headers, extensions=extensions
                )
            except httpx.ConnectError as exc:
                error = exc
        assert error is not None  # a destination has at least one address
        raise error

    async def _failed(self, pending: PendingWebhook, reason: str, *, permanent: bool) -> None:
        job_id, attempt = pending.job.id, pending.attempt
        if permanent or attempt >= self._max_attempts:
            log.warning("webhook of job %s given up after %d attempts: %s", job_id, attempt, reason)
            await self._outbox.failed(pending, error=reason)
        else:
            delay = self._backoff.delay(attempt)
            log.info("webhook of job %s failed (%s); attempt %d in %.1fs", job_id, reason, attempt + 1, delay)
            await self._outbox.retry_in(pending, delay, error=reason)

    async def _body(self, job: Job) -> bytes:
        payload: dict[str, object] = {
            "event": job.status.value,
            # The receiver is the job's owner, not an admin: no worker traceback.
            "job": job.without_traceback().model_dump(mode="json", exclude={"envelope"}),
        }
        if job.status.value == "succeeded":
            try:
                payload["output"] = await self._reader.get_result(job.id)
            except ResultExpired:
                payload["output"] = None
        return json.dumps(payload, separators=(",", ":")).encode()

    def _headers(self, job: Job, body: bytes, attempt: int) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Stoker-Event": job.status.value,
            "Stoker-Job-Id": job.id,
            "Stoker-Delivery": str(attempt),
        }
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, int(time.time()), body)
        elif not self._warned_unsigned:
            self._warned_unsigned = True
            log.warning("WORKER_WEBHOOK_SECRET is not set: webhooks are sent unsigned")
        return headers

    async def close(self) -> None:
        await self._client.aclose()
