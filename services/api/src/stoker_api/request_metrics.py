"""Request metrics as pure ASGI: each answer's duration under its method, route template and status.

Pure ASGI rather than ``@app.middleware("http")``, whose wrapper runs every request through a task group
and a streamed copy of the response: on a small machine, a fifth of the API's time per submit.
"""

from __future__ import annotations

import time

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestMetrics:
    def __init__(self, app: ASGIApp, *, requests: Histogram) -> None:
        self.app = app
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before it answers

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            route = scope.get("route")  # set by the router on this same scope
            path = getattr(route, "path_format", "unmatched")  # the template, without convertors
            self.requests.labels(scope["method"], path, str(status)).observe(time.perf_counter() - started)
