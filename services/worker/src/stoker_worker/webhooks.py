"""Webhook delivery: POST each finished job to its URL, signed, retried, never to internal addresses.

Headers sent with every delivery:

- ``Stoker-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the shared secret>``
- ``Stoker-Event`` (the final status), ``Stoker-Job-Id``, ``Stoker-Delivery`` (attempt number).

Receivers recompute the HMAC over the raw body and reject old timestamps to stop replays.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from stoker_queue import Backoff, Job, PendingWebhook, QueueUnavailable, Reader, ResultExpired, WebhookOutbox

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Stoker-Signature"
# Cloud metadata endpoints that answer on addresses ipaddress does not call private.
METADATA_ADDRESSES = frozenset({"169.254.169.254", "fd00:ec2::254", "100.100.100.200"})
# Deliveries taken from one queue's outbox at a time.
WEBHOOK_BATCH = 32
# Answers that will not change however often we ask.
PERMANENT_FAILURES = frozenset({400, 401, 403, 404, 405, 410, 413, 422})


class WebhookRefused(Exception):
    """The destination is not one this worker may call."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        address in METADATA_ADDRESSES
        or str(ip) in METADATA_ADDRESSES
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def check_destination(url: str, *, allow_private: bool) -> None:
    """Raises ``WebhookRefused`` for a non-HTTP URL, or one whose host resolves to an internal address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused(f"not an http(s) URL: {url!r}")
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443)
    except OSError as exc:
        raise WebhookRefused(f"cannot resolve {parts.hostname!r}: {exc}") from exc
    internal = sorted({str(info[4][0]) for info in infos if _internal(str(info[4][0]))})
    if internal:
        raise WebhookRefused(f"{parts.hostname!r} resolves to internal addresses {internal}")


class WebhookSender:
    """Takes due deliveries from the outbox of each queue and sends them.

    Args:
        outbox: the queue core's webhook outbox.
        reader: to attach a succeeded job's output.
        secret: the HMAC key shared with receivers; None sends unsigned (and says so once).
        allow_private: permit internal destinations (development, in-cluster receivers).
        on_outcome: told ``delivered``, ``failed`` or ``refused`` after each delivery attempt.
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
    ) -> None:
        self._outbox, self._reader = outbox, reader
        self._on_outcome = on_outcome
        self._secret, self._allow_private = secret, allow_private
        self._max_attempts = max_attempts
        self._backoff = backoff or Backoff(base_s=2, cap_s=600)
        self._client = httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, headers={"User-Agent": "stoker-webhooks/1"}
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
                await self._outbox.done(job.id)
                return
            await check_destination(hook.url, allow_private=self._allow_private)
            body = await self._body(job)
            response = await self._client.post(
                hook.url, content=body, headers=self._headers(job, body, pending.attempt)
            )
            if response.is_success:
                self._on_outcome("delivered")
                await self._outbox.done(job.id)
                return
            reason = f"HTTP {response.status_code}"
            permanent = response.status_code in PERMANENT_FAILURES
        except WebhookRefused as exc:
            log.warning("webhook of job %s refused: %s", job.id, exc)
            self._on_outcome("refused")
            await self._outbox.done(job.id)
            return
        except httpx.HTTPError as exc:
            reason, permanent = f"{type(exc).__name__}: {exc}", False
        except QueueUnavailable as exc:
            log.warning("webhook of job %s: redis unreachable (%s); the outbox keeps it", job.id, exc)
            return
        self._on_outcome("failed")
        await self._failed(job, pending.attempt, reason, permanent)

    async def _failed(self, job: Job, attempt: int, reason: str, permanent: bool) -> None:
        if permanent or attempt >= self._max_attempts:
            log.warning("webhook of job %s given up after %d attempts: %s", job.id, attempt, reason)
            await self._outbox.done(job.id)
        else:
            delay = self._backoff.delay(attempt)
            log.info("webhook of job %s failed (%s); attempt %d in %.1fs", job.id, reason, attempt + 1, delay)
            await self._outbox.retry_in(job.id, delay)

    async def _body(self, job: Job) -> bytes:
        payload: dict[str, object] = {
            "event": job.status.value,
            "job": job.model_dump(mode="json", exclude={"envelope"}),
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
