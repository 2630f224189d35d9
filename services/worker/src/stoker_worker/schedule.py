"""Periodic tasks: ``@task(schedule=every(seconds=10))`` or ``@task(schedule=cron("*/5 * * * *"))``.

The declaration is checked when ``@task`` runs, at import, so a schedule that cannot tick (a bad cron
expression, an interval under a second, an input the task would refuse) stops the worker from loading
with one line that names the task, instead of failing a job on every tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue, TypeAdapter, ValidationError

from stoker_queue import InvalidQueueName, Priority, Schedule, is_valid_queue_name
from stoker_queue.schedules import MIN_INTERVAL_S


@dataclass(frozen=True, slots=True)
class ScheduleDeclaration:
    """What ``every`` or ``cron`` declared; ``@task`` checks it and turns it into the published ``Schedule``."""

    cron: str | None
    every_s: float | None
    input: JsonValue
    queue: str | None
    priority: Priority | str

    def build(self, task_name: str, input_type: TypeAdapter[Any]) -> Schedule:
        """Raises ValueError, one line naming the task, for a schedule that cannot tick or an input that
        does not fit the task."""
        if self.every_s is not None and not self.every_s >= MIN_INTERVAL_S:
            raise ValueError(f"task {task_name!r}: invalid schedule: every {self.every_s:g}s is under the 1s minimum")
        if self.queue is not None and not is_valid_queue_name(self.queue):
            raise ValueError(f"task {task_name!r}: invalid schedule: {InvalidQueueName(self.queue)}")
        try:
            fields = {"cron": self.cron, "every_s": self.every_s, "input": self.input, "queue": self.queue}
            schedule = Schedule.model_validate({**fields, "priority": self.priority})
        except ValidationError as exc:
            raise ValueError(f"task {task_name!r}: invalid schedule: {_first(exc)}") from None
        try:
            input_type.validate_python(schedule.input)
        except ValidationError as exc:
            raise ValueError(f"task {task_name!r}: its schedule's input does not fit the task: {_first(exc)}") from None
        return schedule


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def every(
    *,
    seconds: float = 0,
    minutes: float = 0,
    hours: float = 0,
    days: float = 0,
    input: JsonValue = None,
    queue: str | None = None,
    priority: Priority | str = Priority.NORMAL,
) -> ScheduleDeclaration:
    """Run the task every so often: ticks fall on whole multiples of the interval since the Unix epoch (UTC),
    so ``every(minutes=5)`` runs at :00, :05, :10 in every process alike.

    Args:
        seconds / minutes / hours / days: the interval, added up; at least one second.
        input: the input of every job it enqueues (checked against the task's input type).
        queue: where those jobs wait; the task's queue if not given.
        priority: their priority.
    """
    total = seconds + 60 * minutes + 3600 * hours + 86_400 * days
    return ScheduleDeclaration(cron=None, every_s=total, input=input, queue=queue, priority=priority)


def cron(
    expression: str,
    *,
    input: JsonValue = None,
    queue: str | None = None,
    priority: Priority | str = Priority.NORMAL,
) -> ScheduleDeclaration:
    """Run the task where a cron expression matches, in UTC: five fields (minute hour day month weekday),
    or six with seconds first.

    Args:
        expression: e.g. ``"*/5 * * * *"`` (every five minutes) or ``"30 3 * * 1-5"`` (03:30 on weekdays).
        input: the input of every job it enqueues (checked against the task's input type).
        queue: where those jobs wait; the task's queue if not given.
        priority: their priority.
    """
    return ScheduleDeclaration(cron=expression, every_s=None, input=input, queue=queue, priority=priority)
