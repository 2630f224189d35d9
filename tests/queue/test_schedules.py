"""Where a schedule's ticks fall, and the job id each tick gets; no Redis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from stoker_queue import Schedule, queue_of
from stoker_queue.ids import scheduled_job_id
from stoker_queue.schedules import ms_to_utc


def _ms(*parts: int) -> int:
    return round(datetime(*parts, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


NOON = _ms(2026, 3, 2, 12, 0, 0)


def test_an_interval_ticks_on_its_multiples_since_the_epoch() -> None:
    every = Schedule(every_s=10)
    assert every.next_after(NOON) == NOON + 10_000  # strictly after
    assert every.next_after(NOON - 1) == NOON
    assert every.latest_at_or_before(NOON) == NOON  # at or before
    assert every.latest_at_or_before(NOON + 9_999) == NOON
    assert every.latest_at_or_before(NOON - 1) == NOON - 10_000
    assert Schedule(every_s=300).next_after(NOON + 1) == NOON + 300_000  # every 5 min: :00, :05, ...


def test_a_cron_expression_ticks_where_it_matches_in_utc() -> None:
    five = Schedule(cron="*/5 * * * *")
    assert five.next_after(NOON) == _ms(2026, 3, 2, 12, 5)
    assert five.next_after(NOON - 1) == NOON
    assert five.latest_at_or_before(NOON) == NOON
    assert five.latest_at_or_before(NOON - 1) == _ms(2026, 3, 2, 11, 55)
    assert five.latest_at_or_before(NOON + 299_999) == NOON
    daily = Schedule(cron="30 3 * * *")
    assert ms_to_utc(daily.next_after(NOON)) == datetime(2026, 3, 3, 3, 30, tzinfo=UTC)
    seconds = Schedule(cron="*/15 * * * * *")  # six fields: seconds first
    assert seconds.next_after(NOON) == NOON + 15_000
    assert seconds.latest_at_or_before(NOON + 14_999) == NOON


def test_the_timing_names_what_makes_the_ticks() -> None:
    assert Schedule(every_s=10).timing == "every 10s"
    assert Schedule(every_s=1.5).timing == "every 1.5s"
    assert Schedule(cron="0 * * * *").timing == "cron 0 * * * *"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cron": "61 * * * *"}, "invalid cron expression '61 * * * *': Bad minute"),
        ({"cron": "@daily"}, "invalid cron expression '@daily'"),
        ({"cron": "0 0 30 2 *"}, "invalid cron expression '0 0 30 2 *'"),
        ({}, "either a cron expression or an interval"),
        ({"cron": "* * * * *", "every_s": 5}, "either a cron expression or an interval"),
        ({"every_s": 0.5}, "greater than or equal to 1"),
        ({"every_s": 10, "queue": "Not A Queue"}, "should match pattern"),
    ],
)
def test_a_schedule_that_cannot_tick_is_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("*", r"\*")):
        Schedule.model_validate(fields)


def test_a_ticks_job_id_is_the_same_everywhere_and_sorts_by_the_tick() -> None:
    job_id = scheduled_job_id("reports", "nightly", NOON)
    assert job_id == scheduled_job_id("reports", "nightly", NOON)
    assert queue_of(job_id) == "reports"
    assert job_id != scheduled_job_id("reports", "hourly", NOON)
    later = scheduled_job_id("reports", "nightly", NOON + 1)
    assert later != job_id and later > job_id  # ULIDs order by their time part: the tick's
