"""The claim loop of one queue: reserve slots, claim up to that many jobs (blocking while idle), dispatch."""

from __future__ import annotations

import logging

from stoker_queue import Consumer, QueueUnavailable
from stoker_worker.dispatch import Dispatcher
from stoker_worker.lifecycle import OUTAGE_BACKOFF_CAP_S, OUTAGE_BACKOFF_S, Lifecycle
from stoker_worker.slots import Slots

log = logging.getLogger(__name__)


async def claim_loop(
    queue: str,
    *,
    consumer: Consumer,
    slots: Slots,
    dispatcher: Dispatcher,
    lifecycle: Lifecycle,
    block_s: float,
) -> None:
    """Claim from ``queue`` until stopping; returns within ``block_s`` of the stop."""
    backoff = OUTAGE_BACKOFF_S
    while not lifecycle.stopping.is_set():
        reserved = await slots.reserve()
        if lifecycle.stopping.is_set():
            slots.give_back(reserved)
            break
        try:
            batch = await consumer.claim(queue, reserved, block_s=block_s)
        except QueueUnavailable as exc:
            slots.give_back(reserved)
            log.warning("claim on %s failed (%s); retrying in %.1fs", queue, exc, backoff)
            await lifecycle.sleep_unless_stopping(backoff)
            backoff = min(backoff * 2, OUTAGE_BACKOFF_CAP_S)
            continue
        backoff = OUTAGE_BACKOFF_S
        slots.give_back(reserved - len(batch.jobs))
        for job in batch.jobs:
            await dispatcher.dispatch(job)
