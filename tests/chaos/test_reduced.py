"""Each chaos scenario at its reduced size, in ``make test``; ``make chaos`` runs the full sizes.

A scenario passes when its verdict is PASS. The ones marked xfail measure defects that are being
fixed: strict, so the fix turns them into failures until the mark is removed.
"""

from __future__ import annotations

import pytest

from tests.chaos.scenarios import runner

pytestmark = pytest.mark.slow


def _passes(name: str) -> None:
    results = runner(name, reduced=True)()
    assert all(r.verdict == "PASS" for r in results), "\n".join(r.describe() for r in results)


def test_sigkilled_workers_and_a_redis_restart_lose_nothing_and_rerun_only_what_a_kill_cut_short() -> None:
    _passes("kill")


def test_scale_in_loses_nothing_reruns_nothing_and_charges_nothing() -> None:
    _passes("scale-in")


def test_a_rolling_update_that_adds_a_task_fails_no_job() -> None:
    _passes("rolling")


def test_redis_unreachable_or_frozen_gets_503s_in_time_keeps_workers_live_and_loses_nothing() -> None:
    _passes("outage")


def test_the_envelope_decoder_only_ever_refuses_with_a_validation_error() -> None:
    _passes("decoder")


def test_schemathesis_over_the_live_api_finds_no_5xx_and_no_schema_violation() -> None:
    _passes("openapi")


def test_a_corrupt_job_is_dead_lettered_and_the_worker_lives() -> None:
    _passes("corrupt")
