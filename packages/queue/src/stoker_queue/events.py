"""Job events: every state change a script makes is published on the job's own channel.

A process subscribes to the channel of each job someone in it waits for, while they wait, so waiting
(``?wait=``, server-sent events) costs no Redis round trips until something happens, and a process
hears only the events of the jobs its clients wait for, however many other jobs run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

from redis.asyncio.cluster import RedisCluster

from stoker_queue.broker import UNAVAILABLE_ERRORS, Broker
from stoker_queue.errors import InvalidJobId
from stoker_queue.ids import queue_of
from stoker_queue.keys import EVENTS_ANCHOR, QueueKeys
from stoker_queue.status import JobStatus

log = logging.getLogger(__name__)

RECONNECT_BACKOFF_S, RECONNECT_BACKOFF_CAP_S = 0.1, 2.0
# What a (un)subscribe may raise: an outage, or redis-py's AttributeError on a connection that the
# listener closed under it (reconnecting, closing). Either way the listener's next connection decides.
SEND_ERRORS: tuple[type[Exception], ...] = (AttributeError, *UNAVAILABLE_ERRORS)
SUBSCRIBE_WAIT_S = 1.0  # bounded: during an outage the caller's own read of the job reports it


@dataclass(frozen=True, slots=True)
class JobEvent:
    """A job's state after a change. ``RESYNC`` means events may have been missed: read the job."""

    id: str
    status: JobStatus | None
    progress: float | None = None
    message: str | None = None


RESYNC = JobEvent(id="", status=None)


class JobEvents:
    """One pub/sub connection per process, subscribed to the channels of the jobs being watched.

    Args:
        broker: the shared connection (pub/sub takes a connection of its own).
    """

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._inboxes: dict[str, set[asyncio.Queue[JobEvent]]] = defaultdict(set)  # channel -> inboxes
        # Per channel, one entry per SUBSCRIBE sent and not yet confirmed: Redis confirms them in order.
        self._pending: dict[str, deque[asyncio.Event]] = defaultdict(deque)
        self._pubsub: Any = None  # set while subscribed; redis-py's PubSub or ClusterPubSub
        self._up = asyncio.Event()  # set while self._pubsub is
        self._task: asyncio.Task[None] | None = None
        self._chores: set[asyncio.Task[None]] = set()
        self.heard = 0  # event messages received, for whoever measures the fan-out

    @contextlib.asynccontextmanager
    async def watch(self, job_id: str) -> AsyncIterator[asyncio.Queue[JobEvent]]:
        """An inbox of ``job_id``'s events. Enter it before reading the job, so no change is missed."""
        inbox: asyncio.Queue[JobEvent] = asyncio.Queue()
        try:
            channel = QueueKeys(queue_of(job_id)).job_events(job_id)
        except InvalidJobId:
            yield inbox  # no such job can exist: reading it reports that
            return
        self._ensure_listening()
        first = not self._inboxes[channel]
        self._inboxes[channel].add(inbox)
        try:
            if first:
                await self._subscribe(channel)
            elif pending := self._pending.get(channel):  # another watcher's SUBSCRIBE is on its way
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(pending[-1].wait(), SUBSCRIBE_WAIT_S)
            yield inbox
        finally:
            self._inboxes[channel].discard(inbox)
            if not self._inboxes[channel]:
                del self._inboxes[channel]
                self._spawn(self._unsubscribe(channel))

    async def _subscribe(self, channel: str) -> None:
        """Subscribe to ``channel`` and wait until Redis says so (bounded: during an outage the
        listener subscribes every watched channel once it is back, and sends a ``RESYNC``)."""
        with contextlib.suppress(TimeoutError, *SEND_ERRORS):
            async with asyncio.timeout(SUBSCRIBE_WAIT_S):
                await self._up.wait()
                confirmed = asyncio.Event()
                self._pending[channel].append(confirmed)
                await self._pubsub.subscribe(channel)
                await confirmed.wait()

    async def _unsubscribe(self, channel: str) -> None:
        # A watcher that came back in the meantime keeps the channel; its SUBSCRIBE is sent after this.
        pubsub = self._pubsub
        if pubsub is not None and channel not in self._inboxes:
            with contextlib.suppress(*SEND_ERRORS):
                await pubsub.unsubscribe(channel)

    def _spawn(self, chore: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(chore)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    def _ensure_listening(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="stoker-job-events")

    async def _listen(self) -> None:
        backoff = RECONNECT_BACKOFF_S
        reconnecting = False
        while True:
            redis = self._broker.redis
            pubsub = redis.pubsub()
            try:
                if isinstance(redis, RedisCluster):
                    await redis.initialize()  # its pub/sub picks a node from the slot map, read here
                # A channel no one publishes on keeps the connection subscribed while no job is watched.
                await pubsub.subscribe(EVENTS_ANCHOR)
                self._pubsub = pubsub
                self._up.set()
                self._confirm_all()  # what was sent on the old connection is moot
                watched = list(self._inboxes)
                for channel in watched:
                    self._pending[channel].append(asyncio.Event())
                if watched:
                    await pubsub.subscribe(*watched)
                if reconnecting:
                    self._resync_all()  # anything published while we were away is unknown
                reconnecting = True
                backoff = RECONNECT_BACKOFF_S
                async for message in pubsub.listen():
                    self._handle(message)
            except UNAVAILABLE_ERRORS as exc:
                log.warning("job events: redis unreachable (%s); resubscribing in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_BACKOFF_CAP_S)
            finally:
                self._pubsub = None
                self._up.clear()
                with contextlib.suppress(*UNAVAILABLE_ERRORS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _handle(self, message: dict[str, Any]) -> None:
        kind, channel = message.get("type"), str(message.get("channel"))
        if kind == "message":
            self.heard += 1
            self._dispatch(channel, message["data"])
        elif kind == "subscribe" and (pending := self._pending.get(channel)):
            pending.popleft().set()
            if not pending:
                del self._pending[channel]

    def _dispatch(self, channel: str, raw: str) -> None:
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
        for inbox in self._inboxes.get(channel, ()):
            inbox.put_nowait(event)

    def _confirm_all(self) -> None:
        for pending in self._pending.values():
            for confirmed in pending:
                confirmed.set()
        self._pending.clear()

    def _resync_all(self) -> None:
        for inboxes in self._inboxes.values():
            for inbox in inboxes:
                inbox.put_nowait(RESYNC)

    async def close(self) -> None:
        for task in [*self._chores, self._task]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, *UNAVAILABLE_ERRORS):
                    await asyncio.wait_for(task, 2)
