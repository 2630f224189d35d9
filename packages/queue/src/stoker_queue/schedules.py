"""Periodic schedules and where their ticks fall: plain arithmetic, no Redis.

An interval's ticks fall on whole multiples of it since the Unix epoch, a cron expression's where it
matches in UTC (parsed by cronsim: five fields, or six with seconds first). Every process computes
the same ticks with no coordination, which is what lets the tick script compare and set them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from cronsim import CronSim, CronSimError
from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from stoker_queue.keys import QUEUE_NAME_PATTERN
from stoker_queue.status import Priority

# Below a second, a queue is the wrong tool: the scheduler loops wake at most this often anyway.
MIN_INTERVAL_S = 1.0


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


# Exact in both directions (no float on the way), so a tick read back is the tick written.
def ms_to_utc(ms: int) -> datetime:
    return _EPOCH + ms * _MS


def _to_ms(when: datetime) -> int:
    return (when - _EPOCH) // _MS


def check_cron(expression: str) -> None:
    """Raises ValueError, saying why, for an expression cronsim refuses or one that never matches."""
    try:
        next(CronSim(expression, datetime.now(UTC)))
    except CronSimError as exc:
        raise ValueError(f"invalid cron expression {expression!r}: {exc}") from exc
    except StopIteration:
        raise ValueError(f"cron expression {expression!r} never matches") from None


class Schedule(BaseModel):
    """When a task runs by itself, and with what: exactly one of ``cron`` and ``every_s``.

    Args:
        cron: a cron expression, matched in UTC.
        every_s: an interval in seconds (at least 1), ticking at its multiples since the epoch.
        input: the fixed input of every job it enqueues.
        queue: where those jobs wait; None for the task's own queue.
        priority: their priority.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    cron: str | None = None
    every_s: float | None = Field(default=None, ge=MIN_INTERVAL_S, allow_inf_nan=False)
    input: JsonValue = None
    queue: str | None = Field(default=None, pattern=QUEUE_NAME_PATTERN)
    priority: Priority = Priority.NORMAL

    @model_validator(mode="after")
    def _one_timing(self) -> Schedule:
        if (self.cron is None) == (self.every_s is None):
            raise ValueError("give either a cron expression or an interval, not both and not neither")
        if self.cron is not None:
            check_cron(self.cron)
        return self

    @property
    def timing(self) -> str:
        """When it ticks, in words: ``every 10s`` or ``cron */5 * * * *``. A change starts it afresh."""
        return f"cron {self.cron}" if self.cron is not None else f"every {self.every_s:g}s"

    @property
    def _every_ms(self) -> int:
        return round((self.every_s or 0) * 1000)

    def next_after(self, now_ms: int) -> int:
        """The first tick strictly after ``now_ms``."""
        if self.cron is None:
            every = self._every_ms
            return now_ms - now_ms % every + every
        return _to_ms(next(CronSim(self.cron, ms_to_utc(now_ms))))

    def latest_at_or_before(self, now_ms: int) -> int:
        """The last tick at or before ``now_ms``."""
        if self.cron is None:
            return now_ms - now_ms % self._every_ms
        # cronsim looks strictly before its start: start a millisecond later to include ``now_ms``.
        return _to_ms(next(CronSim(self.cron, ms_to_utc(now_ms + 1), reverse=True)))


class ScheduledTask(BaseModel):
    """A task's schedule as the catalog publishes it: all a scheduler needs to enqueue its jobs.

    Its name is the task's; ``queue`` is where its jobs wait (the schedule's, else the task's).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    task: str
    queue: str
    schedule: Schedule
    max_attempts: int = Field(default=3, ge=1)
    timeout_s: float | None = None

    @property
    def name(self) -> str:
        return self.task


TickOutcome = Literal["fired", "skipped"]


class TickState(BaseModel):
    """What the tick script stores per schedule, in its queue's slot (times in ms)."""

    model_config = ConfigDict(extra="ignore")

    timing: str
    next_run: int
    last_run: int | None = None
    last_job: str | None = None
    last_outcome: TickOutcome | None = None


class ScheduleInfo(BaseModel):
    """One schedule as listed: its task and timing, the next run and what the last tick did.

    ``last_outcome`` is ``fired`` (the job ``last_job_id`` was enqueued) or ``skipped`` (the queue was
    paused, so the tick enqueued nothing). ``paused`` says whether the queue is paused now.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    task: str
    queue: str
    priority: Priority
    cron: str | None
    every_s: float | None
    next_run_at: datetime
    last_run_at: datetime | None
    last_job_id: str | None
    last_outcome: TickOutcome | None
    paused: bool
