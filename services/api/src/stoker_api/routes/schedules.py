"""Schedules: the periodic tasks, with their next run and what their last tick did."""

from __future__ import annotations

from fastapi import APIRouter

from stoker_api.deps import Caller, Ctx
from stoker_api.routes.common import errors
from stoker_api.schemas import Page, ScheduleView

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])


@router.get("", response_model=Page[ScheduleView], responses=errors(), summary="List periodic task schedules")
async def list_schedules(ctx: Ctx, _: Caller) -> Page[ScheduleView]:
    """Every schedule of a task in the catalog. A task removed from the catalog takes its schedule with it."""
    schedules = await ctx.scheduler.list_schedules()
    return Page[ScheduleView](items=[ScheduleView.of(s) for s in schedules])
