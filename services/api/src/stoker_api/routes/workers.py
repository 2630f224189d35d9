"""Workers: who is alive, on which device, how busy."""

from __future__ import annotations

from fastapi import APIRouter

from stoker_api.deps import Caller, Ctx
from stoker_api.routes.common import errors
from stoker_api.schemas import Page, WorkerView

router = APIRouter(prefix="/v1/workers", tags=["workers"])


@router.get("", response_model=Page[WorkerView], responses=errors(), summary="List live workers")
async def list_workers(ctx: Ctx, _: Caller) -> Page[WorkerView]:
    workers = await ctx.registry.list_workers()
    return Page[WorkerView](items=[WorkerView.model_validate(w.model_dump()) for w in workers])
