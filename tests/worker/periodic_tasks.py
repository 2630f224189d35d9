"""A periodic task for the worker and end-to-end suites: one job per second, on its own queue."""

from __future__ import annotations

from pydantic import BaseModel

from stoker_worker import JobContext, every, task


class Probe(BaseModel):
    target: str


@task(name="status-poll", queue="periodic", schedule=every(seconds=1, input={"target": "status"}))
def status_poll(probe: Probe, ctx: JobContext) -> str:
    return f"polled {probe.target} for job {ctx.job_id}"
