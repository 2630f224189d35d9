"""Tasks of the chaos runs: each execution is written to a ledger file outside the queue.

The worker's environment names the file (``CHAOS_LEDGER``). Every line is one ``write()`` on a
file opened with ``O_APPEND``, so lines from concurrent processes never interleave, and a worker
SIGKILLed mid-job leaves a ``start`` with no ``end``: that is how a run is told apart from a rerun.
"""

from __future__ import annotations

import os
import time

from pydantic import BaseModel

from stoker_worker import JobContext, task

QUEUE = "chaos"


class Work(BaseModel):
    tag: str
    seconds: float = 0.0


def record(job_id: str, event: str) -> None:
    """Append ``<job id> <pid> <unix time> <event>`` to the ledger, atomically."""
    path = os.environ["CHAOS_LEDGER"]
    line = f"{job_id} {os.getpid()} {time.time():.6f} {event}\n".encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def run(work: Work, ctx: JobContext) -> Work:
    record(ctx.job_id, "start")
    if work.seconds > 0:
        time.sleep(work.seconds)
    record(ctx.job_id, "end")
    return work


@task(name="chaos_a", queue=QUEUE)
def chaos_a(work: Work, ctx: JobContext) -> Work:
    """The task every chaos worker serves."""
    return run(work, ctx)
