"""One table from exception class to HTTP answer. Every error is ``{"error": {code, message, details}}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from stoker_queue import (
    InvalidJobId,
    InvalidQueueName,
    InvalidTransition,
    JobNotFound,
    QueueError,
    QueueUnavailable,
    ResultExpired,
    ResultNotReady,
)
from stoker_queue.errors import IdempotencyConflict

log = logging.getLogger(__name__)

# What a 503 says: never the address or the error text of the Redis client, which name the server.
UNAVAILABLE_MESSAGE = "the queue is unavailable right now; retry after Retry-After seconds"


class ApiError(Exception):
    """An answer decided by the API itself: it carries its status, code and details."""

    def __init__(
        self, status: int, code: str, message: str, details: object = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = dict(headers or {})


# Queue exception class -> (status, code). Looked up along the class's MRO, most specific first.
ERROR_TABLE: dict[type[Exception], tuple[int, str]] = {
    InvalidJobId: (404, "job_not_found"),
    JobNotFound: (404, "job_not_found"),
    InvalidQueueName: (400, "invalid_queue"),
    ResultNotReady: (409, "result_not_ready"),
    InvalidTransition: (409, "invalid_transition"),
    IdempotencyConflict: (409, "idempotency_conflict"),
    ResultExpired: (410, "result_expired"),
    QueueUnavailable: (503, "queue_unavailable"),
    QueueError: (400, "queue_error"),
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int, code: str, message: str, details: object = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def unavailable_response(retry_after_s: int) -> JSONResponse:
    """The 503 while Redis does not answer."""
    return error_response(503, "queue_unavailable", UNAVAILABLE_MESSAGE, headers={"Retry-After": str(retry_after_s)})


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", ""), "type": err.get("type")}
        for err in exc.errors()
    ]


def install_error_handlers(app: FastAPI, *, retry_after_s: int) -> None:
    """Route every exception to one JSON shape; nothing answers with a stack trace."""

    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    async def on_queue_error(_: Request, exc: Exception) -> JSONResponse:
        status, code = next((ERROR_TABLE[c] for c in type(exc).__mro__ if c in ERROR_TABLE), (500, "internal"))
        if status == 503:
            log.warning("%s", exc)
            return unavailable_response(retry_after_s)
        return error_response(status, code, str(exc))

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = _validation_details(exc)
        return error_response(422, "invalid_request", "the request does not match the schema", details=details)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal", "internal error; the server log has the details")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(QueueError, on_queue_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
