"""The side HTTP server the kubelet and Prometheus talk to: /healthz, /readyz, /metrics.

A few lines of asyncio rather than a web framework: the worker image stays small, and these
three GET routes are all it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[tuple[bool, str]]]


class HealthServer:
    """Serves liveness, readiness and metrics on ``host:port``.

    Args:
        live: answers whether the worker is alive (heartbeat fresh, no hung handler).
        ready: answers whether it may receive work (setup done, Redis answers).
        registry: the metrics to expose.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        live: Check,
        ready: Check,
        registry: CollectorRegistry,
        any_port_if_taken: bool = False,
    ) -> None:
        self.host, self.port = host, port
        self._live, self._ready, self.registry = live, ready, registry
        # The default port, not one the operator chose: a second worker on one machine takes a free one.
        self._any_port_if_taken = any_port_if_taken
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as exc:
            if not self._any_port_if_taken or exc.errno != errno.EADDRINUSE:
                raise
            taken = self.port
            self._server = await asyncio.start_server(self._handle, self.host, 0)
            self.port = self._server.sockets[0].getsockname()[1]
            log.warning("health port %d is taken (another worker here?); serving health on %d", taken, self.port)
            return
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("health server on %s:%d", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            method, path = request.split(b" ", 2)[:2]
            status, content_type, body = await self._route(method.decode(), path.decode().split("?")[0])
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _route(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method != "GET":
            return "405 Method Not Allowed", "application/json", b'{"status":"method not allowed"}'
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest(self.registry)
        checks = {"/healthz": self._live, "/readyz": self._ready}
        if path not in checks:
            return "404 Not Found", "application/json", b'{"status":"not found"}'
        ok, reason = await checks[path]()
        body = json.dumps({"status": "ok" if ok else "failing", "reason": reason}).encode()
        return ("200 OK" if ok else "503 Service Unavailable"), "application/json", body
