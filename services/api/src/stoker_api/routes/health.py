"""Liveness and readiness for the kubelet."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from stoker_api.deps import BrokerDep
from stoker_api.errors import error_response
from stoker_queue import QueueUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process serves requests")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: Redis answers", responses={503: {"description": "Redis is unreachable."}})
async def readyz(broker: BrokerDep) -> JSONResponse:
    try:
        await broker.ping()
    except QueueUnavailable as exc:
        return error_response(503, "queue_unavailable", str(exc), headers={"Retry-After": "1"})
    return JSONResponse({"status": "ready"})
