"""The FastAPI application: ``create_app(settings)`` builds it, the lifespan owns the Redis pool."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from stoker_api.errors import install_error_handlers
from stoker_api.routes import health, jobs
from stoker_api.settings import ApiSettings
from stoker_queue import Broker

log = logging.getLogger(__name__)

VERSION = "0.1.0"


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the app. Settings are read here, once, never at import."""
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The pool connects lazily: the API starts (and answers 503) even while Redis is down.
        broker = Broker.from_settings(settings.redis)
        app.state.broker = broker
        try:
            yield
        finally:
            await broker.close()

    app = FastAPI(
        title="Stoker",
        version=VERSION,
        summary="Run GPU work behind an API: submit jobs, poll or wait for their results.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app, retry_after_s=settings.retry_after_s)
    app.include_router(jobs.router)
    app.include_router(health.router)
    return app
