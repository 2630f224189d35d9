"""The FastAPI application: ``create_app(settings)`` builds it; the lifespan closes its connections."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from stoker_api import telemetry, ui
from stoker_api.auth import RequireKey
from stoker_api.body_limit import BodyLimit
from stoker_api.context import ApiContext
from stoker_api.errors import install_error_handlers
from stoker_api.openapi_security import document_bearer_keys
from stoker_api.request_metrics import RequestMetrics
from stoker_api.routes import health, jobs, queues, schedules, tasks, whoami, workers
from stoker_api.settings import ApiSettings
from stoker_queue.tracing import tracing_enabled

log = logging.getLogger(__name__)

VERSION = "0.1.0"
DESCRIPTION = """Submit a job and get its id at once; the job waits in a Redis queue until a GPU
worker runs it. Poll `GET /v1/jobs/{id}`, hold a request with `?wait=N`, stream
`GET /v1/jobs/{id}/events`, or have the job POSTed to a webhook when it ends.

Authenticate with `Authorization: Bearer <key>`. A job belongs to the key that submitted it: other
user keys get `404` for it and never list it; admin keys see every job, and alone see worker
tracebacks. Every error is `{"error": {"code", "message", "details"}}`."""


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the app. Settings are read here, once, never at import.

    Tracing is set up here too, when the standard ``OTEL_*`` variables ask for export.

    Raises:
        TracingConfigError: those variables ask for an exporter or protocol that is not installed.
    """
    settings = settings or ApiSettings()
    # With no OTEL_* variable set this check is all the tracing work: no tracing SDK is even imported.
    tracing = telemetry.start_tracing() if tracing_enabled() else None
    ctx = ApiContext.build(settings, tracer=tracing.tracer if tracing else None)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        ctx.upkeep.start()
        try:
            yield
        finally:
            await ctx.upkeep.close()
            await ctx.close()
            if tracing is not None:
                tracing.handle.shutdown()

    app = FastAPI(
        title="Stoker",
        version=VERSION,
        summary="Run GPU work behind an API.",
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's own pages load their scripts from a CDN; the ui package serves /docs from its own files.
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    install_error_handlers(app, retry_after_s=settings.retry_after_s)
    # The last added runs first: metrics see every answer, the key is checked before the body is read.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequireKey, authenticator=ctx.auth)
    app.add_middleware(RequestMetrics, requests=ctx.metrics.requests)

    app.include_router(jobs.build_router(settings))
    for module in (queues, workers, tasks, schedules, whoami, health, ui):
        app.include_router(module.router)
    document_bearer_keys(app)
    if tracing is not None:
        telemetry.instrument(app, ctx.broker)
    return app
