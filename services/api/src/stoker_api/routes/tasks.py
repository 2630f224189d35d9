"""Tasks: the catalog workers publish, with the JSON Schemas submissions are checked against."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter

from stoker_api.deps import AdminCaller, Caller, Ctx
from stoker_api.errors import ApiError
from stoker_api.routes.common import errors
from stoker_api.schemas import Page, TaskView

# A live worker publishes its tasks with every heartbeat (5 s by default): one seen this recently is served.
SERVED_RECENTLY = timedelta(seconds=60)

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.get("", response_model=Page[TaskView], responses=errors(), summary="List tasks")
async def list_tasks(ctx: Ctx, _: Caller) -> Page[TaskView]:
    tasks = await ctx.catalog.tasks(fresh=True)
    return Page[TaskView](items=[TaskView.of(t) for _, t in sorted(tasks.items())])


@router.delete(
    "/{name}", response_model=TaskView, responses=errors(403, 404, 409), summary="Remove a task nobody serves"
)
async def remove_task(name: str, ctx: Ctx, _: AdminCaller) -> TaskView:
    """Takes a task out of the catalog once no worker has published it for a minute (a retired task, or one
    renamed): submissions of it are then 404. A task a live worker still serves is 409: that worker would
    publish it again with its next heartbeat."""
    info = (await ctx.catalog.tasks(fresh=True)).get(name)
    if info is None:
        raise ApiError(404, "unknown_task", f"no task named {name!r} is in the catalog")
    if info.served_at is not None and datetime.now(UTC) - info.served_at < SERVED_RECENTLY:
        raise ApiError(
            409, "task_in_use", f"a worker published task {name!r} at {info.served_at.isoformat()}; stop it first"
        )
    await ctx.registry.remove_task(name)
    await ctx.catalog.tasks(fresh=True)
    return TaskView.of(info)
