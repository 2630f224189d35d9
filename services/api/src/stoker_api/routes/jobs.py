"""Jobs: submit (one or a batch), read, wait, stream, cancel, retry, list.

A job belongs to the key that submitted it: other user keys get 404 for it and never list it;
admin keys see every job, and alone see worker tracebacks.

Annotations here are evaluated eagerly: FastAPI must resolve the ``Wait`` alias built per app.
"""

import math
from typing import Annotated

from fastapi import APIRouter, Header, Query, status
from fastapi.responses import JSONResponse, StreamingResponse

from stoker_api.auth import Principal
from stoker_api.deps import Caller, Ctx
from stoker_api.errors import ApiError
from stoker_api.routes.common import JOB_PATH, check_size, errors, links
from stoker_api.schemas import Accepted, JobView, Page, ResultView, SubmitBatch, SubmitJob
from stoker_api.settings import ApiSettings
from stoker_api.waiting import event_stream, wait_for_end
from stoker_queue import (
    JOB_ID_PATTERN,
    QUEUE_NAME_PATTERN,
    TERMINAL,
    Job,
    JobRequest,
    JobStatus,
    Submitted,
    WebhookSpec,
)
from stoker_queue.producer import digest


def build_router(settings: ApiSettings) -> APIRouter:  # noqa: C901 - one closure per route
    """The jobs routes; ``?wait=`` is bounded by ``settings.max_wait_s``."""
    router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
    Wait = Annotated[
        float, Query(ge=0, le=settings.max_wait_s, description="Hold the request up to this many seconds.")
    ]

    def owner(caller: Principal) -> str | None:
        """Whose jobs the caller may see: its own, or (admin keys) everyone's."""
        return None if caller.admin else caller.key_id

    def view(job: Job, caller: Principal) -> JobView:
        return JobView.of(job, links(settings, job.id), tracebacks=caller.admin)

    async def to_request(
        ctx: Ctx, body: SubmitJob, caller: Principal, header_key: str | None = None, where: str = ""
    ) -> JobRequest:
        s = ctx.settings
        if header_key is not None and body.idempotency_key is not None and header_key != body.idempotency_key:
            raise ApiError(
                422,
                "idempotency_key_mismatch",
                "the Idempotency-Key header and the body's idempotency_key differ; send one, or the same",
            )
        req_key = body.idempotency_key or header_key
        check_size("input", body.input, s.max_input_bytes)
        check_size("metadata", body.metadata, s.max_metadata_bytes)
        info = await ctx.catalog.check(body.task, body.input, where=where, queue=body.queue)
        return JobRequest(
            task=body.task,
            input=body.input,
            queue=body.queue or info.queue,
            priority=body.priority,
            idempotency_key=req_key,
            max_attempts=body.max_attempts or info.max_attempts,
            timeout_s=body.timeout_s or info.timeout_s,
            ttl_s=body.ttl_s,
            delay_s=body.delay_s,
            webhook=WebhookSpec(url=str(body.webhook.url), events=tuple(e.value for e in body.webhook.events))
            if body.webhook
            else None,
            metadata=body.metadata,
            owner=caller.key_id,
            # What the client sent, not the task's defaults: those may change between a submit and its retry.
            asked=digest(body.model_dump(mode="json", exclude={"idempotency_key"})) if req_key else None,
        )

    async def spend(ctx: Ctx, scope: str, cost: int) -> None:
        rate = ctx.settings.rate
        if rate is None:
            return
        decision = await ctx.limiter.acquire(scope, rate, cost)
        if decision.allowed:
            return
        if decision.retry_after_s is None:
            raise ApiError(413, "batch_over_burst", f"{cost} jobs exceed this key's burst of {rate.burst}")
        raise ApiError(
            429,
            "rate_limited",
            "too many submissions for this key",
            headers={"Retry-After": str(max(1, math.ceil(decision.retry_after_s)))},
        )

    def accepted(ctx: Ctx, req: JobRequest, sub: Submitted) -> Accepted:
        if sub.created:
            ctx.metrics.jobs_submitted.labels(queue=req.queue, task=req.task).inc()
        return Accepted(id=sub.id, status=sub.status, created=sub.created, links=links(ctx.settings, sub.id))

    @router.post(
        "",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=Accepted,
        responses={
            200: {"model": JobView, "description": "With ?wait=: the job ended in time."},
            **errors(404, 409, 429),
        },
        summary="Submit a job",
    )
    async def submit_job(
        body: SubmitJob,
        ctx: Ctx,
        caller: Caller,
        wait: Wait = 0,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> Accepted | JSONResponse:
        """Queue a job and answer at once with its id (202). With `?wait=N`, hold the request up to N
        seconds and answer 200 with the finished job if it ends in time.

        The same idempotency key (per API key) with the same request answers the first job
        (`created: false`); with a different request it is a `409 idempotency_conflict`."""
        req = await to_request(ctx, body, caller, idempotency_key)
        await spend(ctx, caller.key_id, 1)
        answer = accepted(ctx, req, await ctx.producer.submit(req))
        if wait > 0:
            job = await wait_for_end(ctx, answer.id, wait)
            if job.status in TERMINAL:
                return JSONResponse(view(job, caller).model_dump(mode="json"), status_code=200)
        return answer

    @router.post(
        "/batch",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=Page[Accepted],
        responses=errors(404, 409, 429),
        summary="Submit many jobs at once",
    )
    async def submit_batch(body: SubmitBatch, ctx: Ctx, caller: Caller) -> Page[Accepted]:
        """All or nothing: every job is checked first; then all go in one Redis round trip."""
        if len(body.jobs) > ctx.settings.max_batch_jobs:
            raise ApiError(413, "batch_too_large", f"{len(body.jobs)} jobs; the limit is {ctx.settings.max_batch_jobs}")
        reqs = [await to_request(ctx, job, caller, where=f"jobs.{i}.") for i, job in enumerate(body.jobs)]
        await spend(ctx, caller.key_id, len(reqs))
        submitted = await ctx.producer.submit_many(reqs)
        return Page[Accepted](items=[accepted(ctx, r, s) for r, s in zip(reqs, submitted, strict=True)])

    @router.get("", response_model=Page[JobView], responses=errors(), summary="List jobs, newest first")
    async def list_jobs(
        ctx: Ctx,
        caller: Caller,
        queue: Annotated[str | None, Query(pattern=QUEUE_NAME_PATTERN)] = None,
        status: JobStatus | None = None,
        task: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        cursor: Annotated[
            str | None, Query(pattern=JOB_ID_PATTERN, description="`next_cursor` of the previous page.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Page[JobView]:
        """The caller's own jobs; every job for admin keys."""
        jobs, next_cursor = await ctx.reader.list_jobs(
            queue=queue, status=status, task=task, owner=owner(caller), cursor=cursor, limit=limit
        )
        return Page[JobView](items=[view(j, caller) for j in jobs], next_cursor=next_cursor)

    @router.get(JOB_PATH, response_model=JobView, responses=errors(404), summary="Read a job")
    async def get_job(job_id: str, ctx: Ctx, caller: Caller, wait: Wait = 0) -> JobView:
        """Status, progress, attempts by cause, timings, error and webhook delivery. With `?wait=N`,
        hold the request until the job ends or N seconds pass."""
        # Read before subscribing: an unknown job or an outage answers at once, an ended job needs no wait.
        job = await ctx.reader.get_job(job_id, owner=owner(caller))
        if wait > 0 and job.status not in TERMINAL:
            job = await wait_for_end(ctx, job_id, wait)
        return view(job, caller)

    @router.get(
        f"{JOB_PATH}/result",
        response_model=ResultView,
        responses=errors(404, 409, 410),
        summary="Read a finished job's output",
    )
    async def get_result(job_id: str, ctx: Ctx, caller: Caller) -> ResultView:
        """`409` while the job has not succeeded, `410` once the job expired or its result's TTL ran out."""
        return ResultView(id=job_id, output=await ctx.reader.get_result(job_id, owner=owner(caller)))

    @router.get(
        f"{JOB_PATH}/events",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "Server-sent events: `status` (the whole job), `progress`, then `end`.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            **errors(404),
        },
        summary="Stream a job's events until it ends",
    )
    async def stream_events(job_id: str, ctx: Ctx, caller: Caller) -> StreamingResponse:
        await ctx.reader.get_job(job_id, owner=owner(caller))  # 404 before the stream starts
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering
        stream = event_stream(ctx, job_id, links(ctx.settings, job_id), tracebacks=caller.admin)
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    # A job's owner never changes, so checking it first and then acting leaves no gap.
    @router.post(f"{JOB_PATH}/cancel", response_model=JobView, responses=errors(404, 409), summary="Cancel a job")
    async def cancel_job(job_id: str, ctx: Ctx, caller: Caller) -> JobView:
        """A waiting job is canceled at once; a running one gets a cancel request its handler sees."""
        await ctx.reader.get_job(job_id, owner=owner(caller))
        await ctx.producer.cancel(job_id)
        return view(await ctx.reader.get_job(job_id), caller)

    @router.post(
        f"{JOB_PATH}/retry",
        response_model=JobView,
        responses=errors(404, 409),
        summary="Queue a failed, canceled or expired job again",
    )
    async def retry_job(job_id: str, ctx: Ctx, caller: Caller) -> JobView:
        await ctx.reader.get_job(job_id, owner=owner(caller))
        await ctx.producer.retry(job_id)
        return view(await ctx.reader.get_job(job_id), caller)

    return router
