"""Tasks: the catalog workers publish, with the JSON Schemas submissions are checked against."""

from __future__ import annotations

from fastapi import APIRouter

from stoker_api.deps import Caller, Ctx
from stoker_api.routes.common import errors
from stoker_api.schemas import Page, TaskView

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.get("", response_model=Page[TaskView], responses=errors(), summary="List tasks")
async def list_tasks(ctx: Ctx, _: Caller) -> Page[TaskView]:
    tasks = await ctx.catalog.tasks(fresh=True)
    return Page[TaskView](items=[TaskView.of(t) for _, t in sorted(tasks.items())])
