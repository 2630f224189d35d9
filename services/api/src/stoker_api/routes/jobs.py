"""Jobs: submit, read status, read the result."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from stoker_api.deps import ProducerDep, ReaderDep, SettingsDep
from stoker_api.schemas import Accepted, ErrorBody, JobView, Links, ResultView, SubmitJob
from stoker_queue import JobRequest, JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such job."},
    503: {"model": ErrorBody, "description": "Redis is unreachable; retry after `Retry-After` seconds."},
}


def _links(settings_url: str, job_id: str) -> Links:
    base = f"{settings_url.rstrip('/')}/v1/jobs/{job_id}"
    return Links(self=base, result=f"{base}/result")


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses={422: {"model": ErrorBody, "description": "Invalid request."}, 503: _ERRORS[503]},
    summary="Submit a job",
)
async def submit_job(body: SubmitJob, request: Request, producer: ProducerDep, settings: SettingsDep) -> Accepted:
    """Queue a job and answer at once with its id; the job runs when a worker claims it."""
    idempotency_key = body.idempotency_key or request.headers.get("Idempotency-Key")
    submitted = await producer.submit(
        JobRequest(
            task=body.task,
            input=body.input,
            queue=body.queue,
            priority=body.priority,
            idempotency_key=idempotency_key,
            max_attempts=body.max_attempts,
            timeout_s=body.timeout_s,
            ttl_s=body.ttl_s,
            delay_s=body.delay_s,
            metadata=body.metadata,
        )
    )
    job_status = JobStatus.SCHEDULED if body.delay_s > 0 else JobStatus.QUEUED
    return Accepted(
        id=submitted.id, status=job_status, created=submitted.created, links=_links(settings.public_url, submitted.id)
    )


@router.get("/{job_id}", response_model=JobView, responses=_ERRORS, summary="Read a job's status")
async def get_job(job_id: str, reader: ReaderDep, settings: SettingsDep) -> JobView:
    job = await reader.get_job(job_id)
    return JobView.of(job, _links(settings.public_url, job_id))


@router.get(
    "/{job_id}/result",
    response_model=ResultView,
    responses={
        **_ERRORS,
        409: {"model": ErrorBody, "description": "The job has not succeeded (yet)."},
        410: {"model": ErrorBody, "description": "The job expired, or its result outlived its TTL."},
    },
    summary="Read a finished job's output",
)
async def get_result(job_id: str, reader: ReaderDep) -> ResultView:
    return ResultView(id=job_id, output=await reader.get_result(job_id))
