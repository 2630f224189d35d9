"""Rich tables for the command line: a job, the queues, the workers, the task catalog, the schedules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from rich.table import Table
from rich.text import Text

from stoker_client.models import Job, QueueInfo, ScheduleInfo, TaskInfo, WorkerInfo

STATUS_STYLES = {
    "queued": "cyan",
    "scheduled": "blue",
    "running": "yellow",
    "succeeded": "green",
    "failed": "red",
    "canceled": "magenta",
    "expired": "dim",
}
NONE = "-"


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def age(seconds: float | None) -> str:
    """``3.2s``, ``4m05s``, ``2h13m``, ``3d04h``: short enough for a table cell."""
    if seconds is None:
        return NONE
    s = max(0.0, seconds)
    if s < 60:
        return f"{s:.1f}s"
    minutes, sec = divmod(int(s), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def since(stamp: str | datetime | None, now: datetime | None = None) -> str:
    if stamp is None:
        return NONE
    when = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    return age(((now or datetime.now(UTC)) - when).total_seconds())


def job_table(job: Job) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("id", job.id)
    table.add_row("task", f"{job.task} on {job.queue} ({job.priority})")
    table.add_row("status", status_text(job.status))
    if job.progress is not None:
        table.add_row("progress", f"{job.progress.fraction:.0%} {job.progress.message}".rstrip())
    attempts = ", ".join(f"{k} {v}" for k, v in job.attempts.items() if v)
    table.add_row("attempts", attempts or "none failed")
    timings = job.raw.get("timings") or {}
    table.add_row("times", "  ".join(f"{k.removesuffix('_s')} {age(v)}" for k, v in timings.items() if v is not None))
    table.add_row("created", job.created_at.isoformat() if job.created_at else NONE)
    if job.worker:
        table.add_row("worker", job.worker)
    if job.error is not None:
        table.add_row("error", Text(f"{job.error.code}: {job.error.message}", style="red"))
    if job.raw.get("cancel_requested") and not job.finished:
        table.add_row("cancel", "requested")
    webhook = job.raw.get("webhook")
    if webhook:
        table.add_row("webhook", f"{webhook.get('state')} after {webhook.get('attempts')} attempts")
    for key, value in job.metadata.items():
        table.add_row(f"meta {key}", value)
    return table


def queues_table(queues: Sequence[QueueInfo], rates: Mapping[str, float] | None = None) -> Table:
    """One row per queue; ``done/s`` only when ``rates`` has two samples to compare."""
    table = Table(title="queues", title_justify="left")
    for name in ("queue", "state", "high", "normal", "low", "scheduled", "running", "dead", "oldest", "done/s"):
        table.add_column(name, justify="left" if name in ("queue", "state") else "right")
    table.add_column("workers", justify="right")
    for q in queues:
        waiting = q["waiting"]
        rate = None if rates is None else rates.get(q["name"], 0.0)
        table.add_row(
            q["name"],
            Text("paused", style="yellow") if q["paused"] else Text("active", style="green"),
            str(waiting["high"]),
            str(waiting["normal"]),
            str(waiting["low"]),
            str(q["scheduled"]),
            str(q["running"]),
            Text(str(q["dead"]), style="red" if q["dead"] else ""),
            age(q["oldest_waiting_age_s"]),
            NONE if rate is None else f"{rate:.1f}",
            Text(str(q["workers"]), style="" if q["workers"] else "red"),
        )
    return table


def _memory(worker: WorkerInfo) -> str:
    used, total = worker.get("gpu_memory_used_bytes"), worker.get("gpu_memory_total_bytes")
    if not total:
        return NONE
    return f"{(used or 0) / 2**30:.1f}/{total / 2**30:.1f} GiB"


def workers_table(workers: Sequence[WorkerInfo]) -> Table:
    table = Table(title="workers", title_justify="left")
    for name in ("worker", "queues", "device", "gpu memory", "busy", "processed", "heartbeat", "up"):
        table.add_column(name, justify="right" if name in ("busy", "processed", "heartbeat", "up") else "left")
    now = datetime.now(UTC)
    for w in workers:
        device = w.get("device", "cpu") + (f" ({w['gpu_name']})" if w.get("gpu_name") else "")
        table.add_row(
            w["id"],
            ",".join(w["queues"]),
            device,
            _memory(w),
            f"{w.get('busy', 0)}/{w.get('slots', 1)}",
            str(w.get("processed", 0)),
            since(w.get("last_heartbeat"), now),
            since(w.get("started_at"), now),
        )
    return table


def tasks_table(tasks: Sequence[TaskInfo]) -> Table:
    table = Table(title="tasks", title_justify="left")
    for name in ("task", "queue", "batch", "timeout", "attempts", "input"):
        table.add_column(name, justify="right" if name in ("batch", "timeout", "attempts") else "left")
    for t in tasks:
        props = (t.get("input_schema") or {}).get("properties") or {}
        timeout = t.get("timeout_s")
        table.add_row(
            t["name"],
            t["queue"],
            str(t.get("batch_size", 1)),
            NONE if timeout is None else f"{timeout:g}s",
            str(t.get("max_attempts", "")),
            ", ".join(props) or (t.get("input_schema") or {}).get("type", "any"),
        )
    return table


def interval(seconds: float) -> str:
    """``10s``, ``1.5s``, ``5m``, ``1h30m``, ``1d``: an interval as it was most likely written."""
    whole, rest = divmod(seconds, 1)
    parts, left = [], int(whole)
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    if left or rest or not parts:
        parts.append(f"{left + rest:g}s")
    return "".join(parts)


def _next_run(stamp: str | None, now: datetime) -> str:
    """``2026-03-02 12:00:10 (in 4.0s)``, in UTC; ``due`` for a tick the next scheduler pass takes."""
    if stamp is None:
        return NONE
    when = datetime.fromisoformat(stamp)
    seconds = (when - now).total_seconds()
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M:%S} ({'due' if seconds <= 0 else f'in {age(seconds)}'})"


def schedules_table(schedules: Sequence[ScheduleInfo]) -> Table:
    """Times are UTC, as cron expressions are matched."""
    table = Table(title="schedules (UTC)", title_justify="left")
    for name in ("schedule", "queue", "timing", "next run", "last run", "last job"):
        table.add_column(name)
    now = datetime.now(UTC)
    for s in schedules:
        every = s.get("every_s")
        timing = f"every {interval(every)}" if every is not None else f"cron {s.get('cron')}"
        name = s["name"] if s.get("task", s["name"]) == s["name"] else f"{s['name']} ({s['task']})"
        queue = Text(s["queue"]).append(" paused" if s.get("paused") else "", style="magenta")
        last = s.get("last_run_at")
        last_run = Text(f"{since(last, now)} ago" if last else NONE)
        if s.get("last_outcome") == "skipped":
            last_run.append(" skipped", style="magenta")
        table.add_row(name, queue, timing, _next_run(s.get("next_run_at"), now), last_run, s.get("last_job_id") or NONE)
    return table
