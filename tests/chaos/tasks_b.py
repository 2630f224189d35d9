"""The task a rolling update adds: served by new workers only, on the queue the old ones serve."""

from __future__ import annotations

from stoker_worker import JobContext, task
from tests.chaos.tasks import QUEUE, Work, run


@task(name="chaos_b", queue=QUEUE)
def chaos_b(work: Work, ctx: JobContext) -> Work:
    return run(work, ctx)
