"""Operator actions on a whole queue: pause, resume, purge, retry the dead-letter list."""

from __future__ import annotations

import logging

from stoker_queue.broker import Broker, translate_errors
from stoker_queue.errors import InvalidQueueName
from stoker_queue.keys import QueueKeys, is_valid_queue_name

log = logging.getLogger(__name__)

BATCH = 500


def _keys(queue: str) -> QueueKeys:
    if not is_valid_queue_name(queue):
        raise InvalidQueueName(queue)
    return QueueKeys(queue)


class QueueAdmin:
    """Queue-wide operations. Bulk ones run in bounded batches so Redis keeps serving meanwhile.

    Args:
        broker: the shared connection.
    """

    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    @translate_errors
    async def pause(self, queue: str) -> None:
        """Stop claims; jobs keep arriving and waiting. Running jobs finish."""
        await self._broker.scripts.set_paused(_keys(queue), self._broker.now_ms(), True)
        log.info("queue %s paused", queue)

    @translate_errors
    async def resume(self, queue: str) -> None:
        await self._broker.scripts.set_paused(_keys(queue), self._broker.now_ms(), False)
        log.info("queue %s resumed", queue)

    @translate_errors
    async def purge(self, queue: str) -> int:
        """Cancel every waiting and scheduled job (error code ``purged``). Returns how many."""
        q, total = _keys(queue), 0
        while (n := await self._broker.scripts.purge(q, self._broker.now_ms(), BATCH)) > 0:
            total += n
        log.info("queue %s purged: %d jobs canceled", queue, total)
        return total

    @translate_errors
    async def retry_dead(self, queue: str) -> int:
        """Requeue every dead-letter job with fresh attempts, oldest first. Returns how many."""
        q, total = _keys(queue), 0
        while (n := await self._broker.scripts.retry_dead(q, self._broker.now_ms(), BATCH)) > 0:
            total += n
        log.info("queue %s: %d dead jobs requeued", queue, total)
        return total
