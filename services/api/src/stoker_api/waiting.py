"""Holding a request until a job ends (``?wait=``), and streaming its events, without polling Redis."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from stoker_api.context import ApiContext
from stoker_api.schemas import JobView, Links
from stoker_queue import TERMINAL, Job

KEEPALIVE_S = 15.0


async def wait_for_end(ctx: ApiContext, job_id: str, timeout_s: float) -> Job:
    """The job once it has ended, or as it stands after ``timeout_s``."""
    async with ctx.events.watch(job_id) as inbox:
        job = await ctx.reader.get_job(job_id)  # after subscribing, so no change slips between
        deadline = time.monotonic() + timeout_s
        while job.status not in TERMINAL:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                event = await asyncio.wait_for(inbox.get(), remaining)
            except TimeoutError:
                break
            if event.status is None or event.status in TERMINAL:
                job = await ctx.reader.get_job(job_id)
        return job


def _sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


async def event_stream(ctx: ApiContext, job_id: str, links: Links, *, tracebacks: bool) -> AsyncIterator[str]:
    """``status`` events with the whole job, ``progress`` events, then ``end`` with the result link.

    Worker tracebacks are in the job's error only with ``tracebacks`` (admin keys).

    A comment line every ``KEEPALIVE_S`` keeps proxies from closing an idle stream; after
    ``stream_max_s`` a ``timeout`` event closes it, and the client reconnects.
    """
    closes_at = time.monotonic() + ctx.settings.stream_max_s
    async with ctx.events.watch(job_id) as inbox:
        job = await ctx.reader.get_job(job_id)
        yield _sse("status", JobView.of(job, links, tracebacks=tracebacks).model_dump(mode="json"))
        while job.status not in TERMINAL:
            remaining = closes_at - time.monotonic()
            if remaining <= 0:
                yield _sse("timeout", {"id": job_id, "status": job.status.value})
                return
            try:
                event = await asyncio.wait_for(inbox.get(), min(KEEPALIVE_S, remaining))
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if event.status is not None and event.status == job.status:
                yield _sse("progress", {"id": job_id, "fraction": event.progress, "message": event.message or ""})
                continue
            job = await ctx.reader.get_job(job_id)
            yield _sse("status", JobView.of(job, links, tracebacks=tracebacks).model_dump(mode="json"))
        yield _sse("end", {"id": job_id, "status": job.status.value, "result": links.result})
