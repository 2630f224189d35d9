"""The end of every job scenario: wait for the queue to settle, read what happened, fill the row."""

from __future__ import annotations

import time

from pydantic import JsonValue

from tests.chaos import store
from tests.chaos.harness import Stack
from tests.chaos.ledger import Outcome, analyse, read_runs
from tests.chaos.report import Result


def settle_and_measure(stack: Stack, inputs: dict[str, JsonValue], result: Result, *, settle_s: float) -> Outcome:
    """Wait up to ``settle_s`` for the chaos queue to empty, then measure ``inputs``' jobs into ``result``."""
    started = time.monotonic()
    settled = stack.wait_settled(settle_s)
    result.check(settled, f"the queue still held jobs {settle_s:.0f}s after the chaos ended")
    if settled:
        result.notes.append(f"queue settled {time.monotonic() - started:.1f}s after the chaos ended")
    ids = list(inputs)
    records = store.final_records(stack.redis.url, ids)
    outputs = store.results(stack.redis.url, ids)
    outcome = analyse(inputs, records, outputs, read_runs(stack.ledger), stack.kills)
    assert stack.api is not None
    result.fill(outcome, stack.api.tally)
    return outcome


def check_no_reruns_or_charges(result: Result, outcome: Outcome) -> None:
    """Where no worker was killed: no job ran twice, no attempt was charged."""
    result.check(
        not outcome.ran_twice,
        f"{outcome.ran_twice} jobs ran twice with no worker killed (e.g. {outcome.unjustified_twice[:2]})",
    )
    result.check(
        not outcome.wrongly_charged,
        f"{outcome.wrongly_charged} attempts charged with no worker killed "
        f"(crash {outcome.crash_attempts}, error {outcome.error_attempts}; e.g. {outcome.charged_examples[:2]})",
    )
