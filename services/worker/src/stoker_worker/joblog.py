"""Job logs: one line per transition worth reading, each carrying the job id, queue, task and trace id.

While a single job's handler runs, its own log records carry the same fields (``job_context``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence

from stoker_queue import ClaimedJob, CrashedJob, JobStatus
from stoker_queue.logs import job_context, job_fields, trace_id_from_traceparent
from stoker_worker.observe import JobObserver

log = logging.getLogger("stoker_worker.jobs")


def _fields(job: ClaimedJob) -> dict[str, str]:
    env = job.envelope
    return job_fields(env.id, env.queue, env.task, trace_id_from_traceparent(env.trace.get("traceparent")))


class LogObserver(JobObserver):
    def claimed(self, job: ClaimedJob) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("job claimed (attempt %d, waited %.3fs)", job.attempt, job.wait_s, extra=_fields(job))

    @contextlib.contextmanager
    def running(self, task: str, jobs: Sequence[ClaimedJob]) -> Iterator[None]:
        if len(jobs) != 1:
            yield
            return
        env = jobs[0].envelope
        with job_context(env.id, env.queue, env.task, trace_id_from_traceparent(env.trace.get("traceparent"))):
            yield

    def attempt_failed(self, job: ClaimedJob, code: str, message: str, status: JobStatus) -> None:
        level = logging.WARNING if status is JobStatus.FAILED else logging.INFO
        log.log(
            level,
            "job attempt %d failed: %s (%s); now %s",
            job.attempt,
            code,
            message[:200],
            status.value,
            extra=_fields(job),
        )

    def finished(self, job: ClaimedJob, outcome: JobStatus, run_s: float) -> None:
        # A success is the common case: a line each at thousands of jobs a second is noise, so DEBUG.
        level = logging.DEBUG if outcome is JobStatus.SUCCEEDED else logging.INFO
        if log.isEnabledFor(level):
            log.log(level, "job %s in %.3fs", outcome.value, run_s, extra=_fields(job))

    def evicted(self, job: ClaimedJob) -> None:
        log.info("job handed back unfinished", extra=_fields(job))

    def crashed(self, queue: str, jobs: Sequence[CrashedJob]) -> None:
        for job in jobs:
            log.warning(
                "job's worker stopped renewing its lease; now %s",
                job.status.value,
                extra=job_fields(job.id, queue, job.task),
            )

    def setup_done(self, task: str, seconds: float) -> None:
        log.info("task %s set up in %.2fs", task, seconds)
