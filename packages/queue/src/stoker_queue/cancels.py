"""Cancel requests for running jobs, heard over pub/sub the moment they are made.

The cancel script publishes a running job's id on its queue's cancels channel; the worker running it
marks the handler's context at once instead of at its next lease renewal. A request made while the
subscription was down is not heard here: the renewal still reports it, a third of a lease later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from stoker_queue.broker import UNAVAILABLE_ERRORS, Broker
from stoker_queue.keys import QueueKeys

log = logging.getLogger(__name__)

RECONNECT_BACKOFF_S = (0.2, 5.0)  # first and longest pause before subscribing again


class CancelRequests:
    """Subscribes to the cancels channels of ``queues``.

    Args:
        broker: the shared connection.
        queues: the queues whose running jobs this worker holds.
    """

    def __init__(self, broker: Broker, queues: Sequence[str]) -> None:
        self._broker = broker
        self._channels = [QueueKeys(q).cancels for q in queues]

    async def listen(self, on_cancel: Callable[[str], None], stop: asyncio.Event) -> None:
        """Call ``on_cancel(job_id)`` for each request until ``stop`` is set; resubscribe after an outage."""
        pause, longest = RECONNECT_BACKOFF_S
        while not stop.is_set():
            pubsub = self._broker.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*self._channels)
                pause = RECONNECT_BACKOFF_S[0]
                while not stop.is_set():
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        on_cancel(str(message["data"]))
            except UNAVAILABLE_ERRORS as exc:
                log.warning("cancel requests: redis unreachable (%s); subscribing again in %.1fs", exc, pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
                pause = min(pause * 2, longest)
            finally:
                with contextlib.suppress(*UNAVAILABLE_ERRORS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
