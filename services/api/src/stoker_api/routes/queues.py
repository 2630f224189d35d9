"""Queues: counts for dashboards and people; pause, resume, purge and dead-letter retry for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from stoker_api.deps import AdminCaller, Caller, Ctx
from stoker_api.errors import ApiError
from stoker_api.routes.common import errors
from stoker_api.schemas import BulkResult, Page, QueueView
from stoker_queue import QUEUE_NAME_PATTERN

router = APIRouter(prefix="/v1/queues", tags=["queues"])
QueueName = Annotated[str, Path(pattern=QUEUE_NAME_PATTERN, description="A queue name.")]


async def _view(ctx: Ctx, queue: str) -> QueueView:
    stats = await ctx.reader.queue_stats(queue)
    workers = sum(1 for w in await ctx.registry.list_workers() if queue in w.queues)
    return QueueView.of(stats, workers)


@router.get("", response_model=Page[QueueView], responses=errors(), summary="List queues")
async def list_queues(ctx: Ctx, _: Caller) -> Page[QueueView]:
    workers = await ctx.registry.list_workers()
    items = []
    for name in await ctx.reader.list_queues():
        stats = await ctx.reader.queue_stats(name)
        items.append(QueueView.of(stats, sum(1 for w in workers if name in w.queues)))
    return Page[QueueView](items=items)


@router.get("/{queue}", response_model=QueueView, responses=errors(404), summary="Read a queue")
async def get_queue(queue: QueueName, ctx: Ctx, _: Caller) -> QueueView:
    if queue not in await ctx.reader.list_queues():
        raise ApiError(404, "queue_not_found", f"no job was ever submitted to queue {queue!r}")
    return await _view(ctx, queue)


@router.post("/{queue}/pause", response_model=QueueView, responses=errors(403), summary="Pause claims")
async def pause_queue(queue: QueueName, ctx: Ctx, _: AdminCaller) -> QueueView:
    """Jobs keep arriving and waiting; no worker claims from the queue until it is resumed."""
    await ctx.admin.pause(queue)
    return await _view(ctx, queue)


@router.post("/{queue}/resume", response_model=QueueView, responses=errors(403), summary="Resume claims")
async def resume_queue(queue: QueueName, ctx: Ctx, _: AdminCaller) -> QueueView:
    await ctx.admin.resume(queue)
    return await _view(ctx, queue)


@router.post("/{queue}/purge", response_model=BulkResult, responses=errors(403), summary="Cancel waiting jobs")
async def purge_queue(queue: QueueName, ctx: Ctx, _: AdminCaller) -> BulkResult:
    """Every waiting and scheduled job ends as canceled (error code `purged`); running jobs go on."""
    return BulkResult(queue=queue, count=await ctx.admin.purge(queue))


@router.post(
    "/{queue}/dead/retry", response_model=BulkResult, responses=errors(403), summary="Requeue the dead-letter list"
)
async def retry_dead(queue: QueueName, ctx: Ctx, _: AdminCaller) -> BulkResult:
    """Every failed job of the queue goes back to waiting with fresh attempts, oldest first."""
    return BulkResult(queue=queue, count=await ctx.admin.retry_dead(queue))
