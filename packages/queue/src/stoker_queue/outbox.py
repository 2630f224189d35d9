"""The webhook outbox: finished jobs whose webhook is still to be delivered.

Scripts put a job in when it reaches a final status; deliverers take due jobs for a visibility
timeout, then mark them done or due again later. A deliverer that dies loses nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from stoker_queue.broker import Broker, translate_errors
from stoker_queue.ids import queue_of
from stoker_queue.keys import QueueKeys
from stoker_queue.records import Job

_TAKE_FIELDS = 3  # id, envelope, state


@dataclass(frozen=True, slots=True)
class PendingWebhook:
    job: Job
    attempt: int  # 1 for the first delivery


class WebhookOutbox:
    """Takes and settles webhook deliveries.

    Args:
        broker: the shared connection.
    """

    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    @translate_errors
    async def take(self, queue: str, limit: int, *, visibility_s: float) -> list[PendingWebhook]:
        """Due deliveries of ``queue``, hidden from other takers for ``visibility_s``."""
        reply = await self._broker.scripts.webhook_take(
            QueueKeys(queue), self._broker.now_ms(), limit, round(visibility_s * 1000)
        )
        out = []
        for i in range(0, len(reply), _TAKE_FIELDS):
            _, envelope, state = reply[i : i + _TAKE_FIELDS]
            out.append(
                PendingWebhook(job=Job.decode(envelope, state), attempt=int(json.loads(state)["webhook_attempts"]))
            )
        return out

    @translate_errors
    async def done(self, job_id: str) -> None:
        """Delivered, or given up: out of the outbox."""
        await self._broker.redis.zrem(QueueKeys(queue_of(job_id)).webhooks, job_id)

    @translate_errors
    async def retry_in(self, job_id: str, delay_s: float) -> None:
        """Due again after ``delay_s`` (only if it is still in the outbox)."""
        now = self._broker.now_ms()
        if now is None:  # due times are compared with Redis' clock, so read it rather than ours
            seconds, micros = await self._broker.redis.time()
            now = int(seconds) * 1000 + int(micros) // 1000
        await self._broker.redis.zadd(
            QueueKeys(queue_of(job_id)).webhooks, {job_id: now + round(delay_s * 1000)}, xx=True
        )
