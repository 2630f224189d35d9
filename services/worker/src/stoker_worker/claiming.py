"""The claim loop of one queue: reserve slots, claim up to that many jobs (blocking while idle), dispatch.

In burst mode a loop ends once its queue has nothing left to claim and the worker holds no job;
with a job budget (``max_jobs``) every loop ends once the budget is spent.
"""

from __future__ import annotations

import asyncio
import logging

from stoker_queue import Consumer, QueueUnavailable
from stoker_worker.dispatch import Dispatcher
from stoker_worker.inflight import InFlight
from stoker_worker.lifecycle import OUTAGE_BACKOFF_CAP_S, OUTAGE_BACKOFF_S, Lifecycle
from stoker_worker.slots import Slots

log = logging.getLogger(__name__)


class JobBudget:
    """How many more jobs this worker may claim, across its queues; None: no limit."""

    def __init__(self, max_jobs: int | None) -> None:
        self.left = max_jobs

    def take(self, wanted: int) -> int:
        if self.left is None:
            return wanted
        granted = min(wanted, self.left)
        self.left -= granted
        return granted

    def refund(self, unused: int) -> None:
        if self.left is not None:
            self.left += unused

    @property
    def spent(self) -> bool:
        return self.left == 0


async def claim_loop(
    queue: str,
    *,
    consumer: Consumer,
    slots: Slots,
    dispatcher: Dispatcher,
    lifecycle: Lifecycle,
    block_s: float,
    inflight: InFlight,
    budget: JobBudget,
    burst: bool = False,
) -> None:
    """Claim from ``queue`` until stopping (or, in burst mode, until it is empty, or the budget is spent);
    returns within ``block_s`` of the stop."""
    backoff = OUTAGE_BACKOFF_S
    emptied = False  # the last claim took the queue's last jobs: the next one starts by waiting
    while not lifecycle.stopping.is_set() and not budget.spent:
        reserved = await slots.reserve()
        granted = budget.take(reserved)
        slots.give_back(reserved - granted)
        if lifecycle.stopping.is_set() or granted == 0:
            slots.give_back(granted)
            budget.refund(granted)
            break
        try:
            batch = await consumer.claim(queue, granted, block_s=block_s, wait_first=emptied)
        except QueueUnavailable as exc:
            emptied = False
            slots.give_back(granted)
            budget.refund(granted)
            log.warning("claim on %s failed (%s); retrying in %.1fs", queue, exc, backoff)
            await lifecycle.sleep_unless_stopping(backoff)
            backoff = min(backoff * 2, OUTAGE_BACKOFF_CAP_S)
            continue
        backoff = OUTAGE_BACKOFF_S
        emptied = not burst and len(batch.jobs) < granted and batch.next_due_ms is None
        slots.give_back(granted - len(batch.jobs))
        budget.refund(granted - len(batch.jobs))
        for job in batch.jobs:
            await dispatcher.dispatch(job)
        if batch.jobs:
            await asyncio.sleep(0)  # the handlers just dispatched start before the next claim goes out
        # Nothing came and nothing is held (a failure of ours could queue a retry): the burst is over.
        if burst and not batch.jobs and not len(inflight):
            log.info("queue %s is empty: burst done", queue)
            break
