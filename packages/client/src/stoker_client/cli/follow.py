"""Following a job to its end with a progress bar fed by its events (on stderr, so stdout stays data)."""

from __future__ import annotations

import threading

from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn

from stoker_client.cli.common import err
from stoker_client.client import JobHandle
from stoker_client.errors import WaitTimeout
from stoker_client.models import Job


def _bar(show: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.fields[status]:<9}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[message]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not show,
    )


def follow(handle: JobHandle, *, timeout_s: float | None = None, show: bool = True) -> Job:
    """The job once it ended, showing its status and progress meanwhile.

    The events are read on a thread, so ``timeout_s`` holds even while no event comes.

    Raises:
        WaitTimeout: the job was still active after ``timeout_s``.
    """
    status, failures = ["queued"], list[Exception]()
    with _bar(show) as bar:
        task = bar.add_task(handle.id, total=1.0, status=status[0], message="")

        def pump() -> None:
            try:
                for event in handle.events():
                    if event.job is not None:
                        status[0] = event.job.status
                        bar.update(task, status=status[0])
                    elif event.progress is not None:
                        bar.update(task, completed=event.progress.fraction, message=event.progress.message)
            except Exception as exc:  # handed to the caller's thread
                failures.append(exc)

        reader = threading.Thread(target=pump, name=f"events {handle.id}", daemon=True)
        reader.start()
        reader.join(timeout_s)
        if reader.is_alive():
            raise WaitTimeout(handle.id, status[0], timeout_s or 0.0)
    if failures:
        raise failures[0]
    return handle.status()
