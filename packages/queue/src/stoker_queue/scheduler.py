"""The scheduler: every worker and every API replica runs one, and the tick script lets one take each tick.

A pass reads the published schedules of the tasks still in the catalog, the time from Redis (or the
broker's clock), and each schedule's tick state; for a schedule that is due it calls ``schedule_tick``
with the state it read, so of all the processes that race for a tick, one takes it. Missed ticks are not
replayed: a schedule found several ticks late (nothing ran for a while) takes only the latest of them,
and its next run is the first tick in the future. A new schedule, or one whose timing changed, starts at
its next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from stoker_queue.broker import UNAVAILABLE_ERRORS, Broker, translate_errors
from stoker_queue.envelope import JobEnvelope
from stoker_queue.errors import QueueUnavailable
from stoker_queue.ids import scheduled_job_id
from stoker_queue.keys import QUEUES_KEY, SCHEDULES_KEY, TASKS_KEY, QueueKeys
from stoker_queue.schedules import ScheduledTask, ScheduleInfo, TickOutcome, TickState, ms_to_utc
from stoker_queue.scripts import NewJob, ScheduleTick

log = logging.getLogger(__name__)

# How long a newly published, changed or removed schedule may go unnoticed; a due tick is slept until
# exactly. Idle, a pass every few seconds is all the scheduler asks of Redis.
MAX_SLEEP_S = 5.0
# Wake this much after a tick is due, so that Redis' clock has reached it too.
WAKE_MARGIN_S = 0.002


@dataclass(frozen=True, slots=True)
class Tick:
    """A tick this process took: ``fired`` enqueued the job ``job_id``; ``skipped`` enqueued nothing,
    as the queue was paused."""

    task: str
    queue: str
    outcome: TickOutcome
    tick_at: datetime
    job_id: str | None


@dataclass(frozen=True, slots=True)
class PassReport:
    """The ticks one pass took, and how long until the next schedule is due (at most ``MAX_SLEEP_S``)."""

    ticks: tuple[Tick, ...]
    wait_s: float


def _state(seen: str) -> TickState | None:
    if not seen:
        return None
    try:
        return TickState.model_validate_json(seen)
    except ValueError:
        return None  # replaced by the next call, which compares against the same text


class Scheduler:
    """Takes the ticks of every published schedule, at most once each across all processes.

    Args:
        broker: the shared connection; its clock, when fake, is the schedulers' time too.
        max_sleep_s: the longest a loop sleeps between passes.
    """

    def __init__(self, broker: Broker, *, max_sleep_s: float = MAX_SLEEP_S) -> None:
        self._broker = broker
        self._max_sleep_s = max_sleep_s
        self._reported: set[str] = set()  # what was logged as broken, so a bad entry is logged once

    async def _read(self) -> tuple[int, list[tuple[ScheduledTask, str]]]:
        """Now (ms), and each schedule of a task in the catalog with its state JSON ('' for none)."""
        redis = self._broker.redis
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(SCHEDULES_KEY)
            pipe.hkeys(TASKS_KEY)
            if not self._broker.cluster:  # a cluster pipeline takes only commands on keys
                pipe.time()
            published, names, *rest = await pipe.execute()
        now = self._broker.now_ms()
        if now is None:
            seconds, micros = rest[0] if rest else await redis.time()
            now = int(seconds) * 1000 + int(micros) // 1000
        catalog = set(names)
        entries = [
            entry
            for name, raw in sorted(published.items())
            if name in catalog and (entry := self._parse(name, raw)) is not None
        ]
        if not entries:
            return now, []
        async with redis.pipeline(transaction=False) as pipe:
            for entry in entries:
                pipe.hget(QueueKeys(entry.queue).schedules, entry.name)
            states = await pipe.execute()
        return now, [(entry, seen or "") for entry, seen in zip(entries, states, strict=True)]

    def _parse(self, name: str, raw: str) -> ScheduledTask | None:
        try:
            return ScheduledTask.model_validate_json(raw)
        except ValueError as exc:
            self._report(name, "schedule of task %s cannot be read, so it does not fire: %s", exc)
            return None

    def _report(self, name: str, message: str, exc: Exception) -> None:
        if name not in self._reported:
            self._reported.add(name)
            log.error(message, name, exc)

    @translate_errors
    async def run_once(self) -> PassReport:
        """One pass: take every tick that is due."""
        now, found = await self._read()
        ticks: list[Tick] = []
        next_runs: list[int] = []
        for entry, seen in found:
            try:
                tick, next_ms = await self._advance(entry, seen, now)
            except UNAVAILABLE_ERRORS:
                raise
            except Exception as exc:  # one bad schedule never stops the others
                self._report(entry.name, "schedule of task %s failed: %s", exc)
                continue
            next_runs.append(next_ms)
            if tick is not None:
                ticks.append(tick)
        due_s = (min(next_runs) - now) / 1000 + WAKE_MARGIN_S if next_runs else self._max_sleep_s
        return PassReport(ticks=tuple(ticks), wait_s=min(self._max_sleep_s, max(WAKE_MARGIN_S, due_s)))

    async def _advance(self, entry: ScheduledTask, seen: str, now: int) -> tuple[Tick | None, int]:
        """Take the schedule's due tick, if any; returns that tick (None if this call took none) and the next run."""
        schedule, state = entry.schedule, _state(seen)
        current = state is not None and state.timing == schedule.timing
        if state is not None and current and now < state.next_run:
            return None, state.next_run
        # Due: take the latest tick not after now, whatever came before it (no burst of missed ticks).
        fire_ms = schedule.latest_at_or_before(now) if current else None
        next_ms = schedule.next_after(now)
        job = self.job_for(entry, fire_ms) if fire_ms is not None else None
        if job is not None:  # the queue set lets readers (and the reapers) find the queue
            await self._broker.redis.sadd(QUEUES_KEY, entry.queue)
        call = ScheduleTick(entry.name, seen, schedule.timing, next_ms, fire_ms, job)
        outcome, job_id = await self._broker.scripts.schedule_tick(QueueKeys(entry.queue), now, call)
        if outcome not in ("fired", "skipped") or fire_ms is None:
            return None, next_ms  # stale: another process moved it first; started; or the job exists already
        if state is not None and fire_ms > state.next_run:
            log.info(
                "schedule of task %s: the ticks from %s were missed (no scheduler ran); took only the one at %s",
                entry.name,
                ms_to_utc(state.next_run).isoformat(),
                ms_to_utc(fire_ms).isoformat(),
            )
        tick = Tick(
            task=entry.task,
            queue=entry.queue,
            outcome="fired" if outcome == "fired" else "skipped",
            tick_at=ms_to_utc(fire_ms),
            job_id=job_id or None,
        )
        return tick, next_ms

    def job_for(self, entry: ScheduledTask, tick_ms: int) -> NewJob:
        """The job that the tick ``tick_ms`` of ``entry`` enqueues: the same in every process."""
        s = entry.schedule
        job_id = scheduled_job_id(entry.queue, entry.name, tick_ms)
        envelope = JobEnvelope(
            id=job_id,
            task=entry.task,
            queue=entry.queue,
            input=s.input,
            priority=s.priority,
            max_attempts=entry.max_attempts,
            timeout_s=entry.timeout_s,
            metadata={"schedule": entry.name, "tick": ms_to_utc(tick_ms).isoformat()},
        )
        return NewJob(
            id=job_id,
            task=envelope.task,
            envelope_json=envelope.to_json(),
            priority=s.priority.value,
            max_attempts=envelope.max_attempts,
            max_crashes=envelope.max_crashes,
            delay_ms=0,
            ttl_ms=0,
            idempotency_key=None,
            idempotency_ttl_ms=0,
        )

    @translate_errors
    async def list_schedules(self) -> list[ScheduleInfo]:
        """Every schedule of a task in the catalog, by name, with its next run and its last tick."""
        now, found = await self._read()
        queues = sorted({entry.queue for entry, _ in found})
        async with self._broker.redis.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.exists(QueueKeys(queue).paused)
            paused = dict(zip(queues, await pipe.execute(), strict=True))
        out = []
        for entry, seen in found:
            schedule, state = entry.schedule, _state(seen)
            if state is not None and state.timing != schedule.timing:
                state = None  # its timing changed: the next pass starts it afresh
            out.append(
                ScheduleInfo(
                    name=entry.name,
                    task=entry.task,
                    queue=entry.queue,
                    priority=schedule.priority,
                    cron=schedule.cron,
                    every_s=schedule.every_s,
                    # Before any scheduler started it, its first run is still the next tick.
                    next_run_at=ms_to_utc(state.next_run if state else schedule.next_after(now)),
                    last_run_at=ms_to_utc(state.last_run) if state and state.last_run is not None else None,
                    last_job_id=state.last_job if state else None,
                    last_outcome=state.last_outcome if state else None,
                    paused=bool(paused[entry.queue]),
                )
            )
        return out

    async def run(self, closing: asyncio.Event, on_tick: Callable[[Tick], None] | None = None) -> None:
        """Pass after pass until ``closing`` is set, telling ``on_tick`` of each tick taken here.

        An error is logged and the loop goes on; during a Redis outage it retries every ``max_sleep_s``.
        """
        while not closing.is_set():
            wait_s = self._max_sleep_s
            try:
                report = await self.run_once()
                wait_s = report.wait_s
                for tick in report.ticks:
                    log.debug("schedule of task %s: %s the tick at %s", tick.task, tick.outcome, tick.tick_at)
                    if on_tick is not None:
                        on_tick(tick)
            except QueueUnavailable as exc:
                log.warning("scheduler: redis unreachable (%s)", exc)
            except Exception:
                log.exception("scheduler pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closing.wait(), wait_s)
