"""The webhook outbox: finished jobs whose webhook is still to be delivered, and how each delivery went.

Scripts put a job in when it reaches a final status; deliverers take due jobs for a visibility
timeout, then settle each: delivered, failed, refused, or due again later. A deliverer that dies
loses nothing.

Each job with a webhook shows its delivery in its record (the state hash):

- ``webhook_state``: ``pending`` from the job's end until the delivery is settled (retries included),
  then ``delivered`` (a 2xx), ``failed`` (retries spent, or an answer that will not change) or
  ``refused`` (the destination is not one a worker may call; never retried);
- ``webhook_attempts``: deliveries attempted since the job last ended;
- ``webhook_error``: the last error, short, absent after a delivery. Never a secret.

A job whose webhook does not ask for its final status has none of these fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from stoker_queue.broker import Broker, translate_errors
from stoker_queue.ids import queue_of
from stoker_queue.keys import QueueKeys
from stoker_queue.records import Job

_TAKE_FIELDS = 3  # id, envelope, state
# Longest ``webhook_error`` kept; longer ones are cut.
WEBHOOK_ERROR_MAX = 200

_Outcome = Literal["delivered", "failed", "refused", "retry", "skip"]


@dataclass(frozen=True, slots=True)
class PendingWebhook:
    job: Job
    attempt: int  # 1 for the first delivery


def _short(error: str) -> str:
    error = " ".join(error.split())
    return error if len(error) <= WEBHOOK_ERROR_MAX else error[: WEBHOOK_ERROR_MAX - 1] + "…"


class WebhookOutbox:
    """Takes and settles webhook deliveries.

    Every settling call applies only while ``pending`` is still the latest attempt of the job's
    current delivery, and returns whether it did: the answer to an attempt that overran its
    visibility timeout (and was taken again) changes nothing.

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

    async def delivered(self, pending: PendingWebhook) -> bool:
        """The receiver accepted it: ``delivered``, out of the outbox."""
        return await self._settle(pending, "delivered")

    async def failed(self, pending: PendingWebhook, *, error: str) -> bool:
        """Given up (retries spent, or an answer that will not change): ``failed`` with ``error``."""
        return await self._settle(pending, "failed", error)

    async def refused(self, pending: PendingWebhook, *, error: str) -> bool:
        """The destination may not be called: ``refused`` with ``error``, never retried."""
        return await self._settle(pending, "refused", error)

    async def retry_in(self, pending: PendingWebhook, delay_s: float, *, error: str) -> bool:
        """Due again after ``delay_s``; still ``pending``, with ``error`` as the last one."""
        return await self._settle(pending, "retry", error, delay_s)

    async def skip(self, pending: PendingWebhook) -> bool:
        """Nothing to deliver (the webhook does not ask for this status): out, with no delivery state."""
        return await self._settle(pending, "skip")

    @translate_errors
    async def _settle(self, pending: PendingWebhook, outcome: _Outcome, error: str = "", delay_s: float = 0) -> bool:
        job_id = pending.job.id
        return await self._broker.scripts.webhook_settle(
            QueueKeys(queue_of(job_id)),
            self._broker.now_ms(),
            job_id,
            pending.attempt,
            outcome,
            _short(error),
            round(delay_s * 1000),
        )
