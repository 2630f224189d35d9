"""Liveness, readiness and metrics: unauthenticated, for the kubelet and Prometheus."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from stoker_api.deps import Ctx
from stoker_api.errors import unavailable_response
from stoker_api.routes.common import too_large
from stoker_queue import QueueUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process serves requests", responses=too_large())
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: Redis answers",
    responses={200: {"description": "Ready."}, 503: {"description": "Redis is unreachable."}, **too_large()},
)
async def readyz(ctx: Ctx) -> JSONResponse:
    try:
        await ctx.broker.ping()
    except QueueUnavailable:
        return unavailable_response(ctx.settings.retry_after_s)
    return JSONResponse({"status": "ready"})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **too_large()},
)
async def metrics(ctx: Ctx) -> Response:
    """The API's metrics and the queue gauges, read from Redis now; `stoker_redis_up` is 0 when Redis
    did not answer in time, and the answer is still 200."""
    await ctx.metrics.refresh()
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
