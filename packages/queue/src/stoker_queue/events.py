"""Job events: every state change a script makes is published on its queue's channel.

One pattern subscription per process fans events out to whoever watches a job id, so waiting
for a job (``?wait=``, server-sent events) costs no Redis round trips until something happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass

from stoker_queue.broker import UNAVAILABLE_ERRORS, Broker
from stoker_queue.keys import EVENTS_PATTERN
from stoker_queue.status import JobStatus

log = logging.getLogger(__name__)

RECONNECT_BACKOFF_S, RECONNECT_BACKOFF_CAP_S = 0.1, 2.0


@dataclass(frozen=True, slots=True)
class JobEvent:
    """A job's state after a change. ``RESYNC`` means events may have been missed: read the job."""

    id: str
    status: JobStatus | None
    progress: float | None = None
    message: str | None = None


RESYNC = JobEvent(id="", status=None)


class JobEvents:
    """Fans one subscription out to per-job inboxes.

    Args:
        broker: the shared connection (pub/sub takes a connection of its own).
    """

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._inboxes: dict[str, set[asyncio.Queue[JobEvent]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    @contextlib.asynccontextmanager
    async def watch(self, job_id: str) -> AsyncIterator[asyncio.Queue[JobEvent]]:
        """An inbox of ``job_id``'s events. Enter it before reading the job, so no change is missed."""
        self._ensure_listening()
        inbox: asyncio.Queue[JobEvent] = asyncio.Queue()
        self._inboxes[job_id].add(inbox)
        try:
            # Bounded: during an outage the caller's own read of the job reports it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed.wait(), 1.0)
            yield inbox
        finally:
            self._inboxes[job_id].discard(inbox)
            if not self._inboxes[job_id]:
                del self._inboxes[job_id]

    def _ensure_listening(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="stoker-job-events")

    async def _listen(self) -> None:
        backoff = RECONNECT_BACKOFF_S
        reconnecting = False
        while True:
            pubsub = self._broker.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(EVENTS_PATTERN)
                self._subscribed.set()
                if reconnecting:
                    self._resync_all()  # anything published while we were away is unknown
                reconnecting = True
                backoff = RECONNECT_BACKOFF_S
                async for message in pubsub.listen():
                    if message.get("type") == "pmessage":
                        self._dispatch(message["data"])
            except UNAVAILABLE_ERRORS as exc:
                self._subscribed.clear()
                log.warning("job events: redis unreachable (%s); resubscribing in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_BACKOFF_CAP_S)
            finally:
                with contextlib.suppress(*UNAVAILABLE_ERRORS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _dispatch(self, raw: str) -> None:
        try:
            data = json.loads(raw)
            event = JobEvent(
                id=data["id"],
                status=JobStatus(data["status"]),
                progress=data.get("progress"),
                message=data.get("message"),
            )
        except (ValueError, KeyError, TypeError):
            log.warning("job events: ignoring a malformed message %r", raw[:200])
            return
        for inbox in self._inboxes.get(event.id, ()):
            inbox.put_nowait(event)

    def _resync_all(self) -> None:
        for inboxes in self._inboxes.values():
            for inbox in inboxes:
                inbox.put_nowait(RESYNC)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, *UNAVAILABLE_ERRORS):
                await asyncio.wait_for(self._task, 2)
