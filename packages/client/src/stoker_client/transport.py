"""HTTP to the API: the key, the error mapping and the retry policy, for the sync and async clients.

Retried: ``503`` (Redis away) and ``429`` (rate limited), after at least their ``Retry-After``; a
connection that could not be made (nothing was sent, so even a submit is safe to send again); and,
for GET only, a connection lost mid-answer. Everything else is raised at once as its ``ApiError``.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from stoker_client.errors import ApiError, ApiUnreachable, error_for

DEFAULT_URL = "http://127.0.0.1:8000"
URL_ENV, KEY_ENV = "STOKER_URL", "STOKER_API_KEY"
RETRIED_STATUSES = frozenset({429, 503})
USER_AGENT = "stoker-client/0.1"
# The API sends a keep-alive comment every 15 s on an idle event stream; twice that means it is gone.
STREAM_READ_TIMEOUT_S = 45.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry.

    Args:
        attempts: tries in all, the first included (1: never retry).
        backoff_s: the first pause when the answer names none; doubles per try, with jitter.
        max_backoff_s: the longest such pause.
        max_retry_after_s: a ``Retry-After`` longer than this is not waited for: the error is raised.
    """

    attempts: int = 4
    backoff_s: float = 0.25
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 120.0

    def pause(self, tried: int, retry_after_s: float | None) -> float | None:
        """Seconds to wait before try ``tried + 1``, or None to give up."""
        if tried >= self.attempts:
            return None
        if retry_after_s is not None:
            return retry_after_s if retry_after_s <= self.max_retry_after_s else None
        ceiling: float = min(self.max_backoff_s, self.backoff_s * 2 ** (tried - 1))
        return random.uniform(0.5, 1.0) * ceiling


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def settings_from_env(url: str | None, api_key: str | None) -> tuple[str, str | None]:
    """The base URL and key: as given, else ``STOKER_URL`` and ``STOKER_API_KEY``."""
    base = url or os.environ.get(URL_ENV) or DEFAULT_URL
    key = api_key if api_key is not None else os.environ.get(KEY_ENV) or None
    return base.rstrip("/"), key


def headers(api_key: str | None) -> dict[str, str]:
    found = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if api_key:
        found["Authorization"] = f"Bearer {api_key}"
    return found


def error_of(response: httpx.Response) -> ApiError:
    """The exception for an error answer; bodies that are not the API's (a proxy's page) too."""
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    try:
        body = response.json()["error"]
        code, message, details = str(body["code"]), str(body["message"]), body.get("details")
    except (ValueError, KeyError, TypeError):
        code, message, details = "http_error", response.reason_phrase or "error", None
    return error_for(response.status_code, code, message, details, retry_after_s=retry_after)


def _decode(response: httpx.Response) -> Any:
    if response.is_error:
        raise error_of(response)
    return response.json() if response.content else None


def _unreachable(base_url: str, exc: httpx.TransportError) -> ApiUnreachable:
    return ApiUnreachable(base_url, str(exc) or type(exc).__name__)


def _pause(
    policy: RetryPolicy, tried: int, method: str, outcome: httpx.Response | httpx.TransportError
) -> float | None:
    if isinstance(outcome, httpx.Response):
        if outcome.status_code not in RETRIED_STATUSES:
            return None
        return policy.pause(tried, parse_retry_after(outcome.headers.get("Retry-After")))
    if isinstance(outcome, httpx.ConnectError | httpx.ConnectTimeout) or method == "GET":
        return policy.pause(tried, None)
    return None


def _verify(base_url: str) -> bool:
    # Requests only ever go to the base URL. Over plain http no TLS is made, so the CA bundle is not
    # loaded: a tenth of a second off every command's start.
    return not base_url.startswith("http://")


def _timeout(timeout_s: float, extra_s: float) -> httpx.Timeout:
    return httpx.Timeout(timeout_s + extra_s, connect=timeout_s)


class Transport:
    """Sync requests with retries. ``extra_timeout_s`` lengthens one call (a ``?wait=`` request)."""

    def __init__(self, base_url: str, api_key: str | None, *, timeout_s: float, retry: RetryPolicy) -> None:
        self.base_url, self.retry, self.timeout_s = base_url, retry, timeout_s
        self.http = httpx.Client(
            base_url=base_url, headers=headers(api_key), timeout=timeout_s, verify=_verify(base_url)
        )

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        extra_timeout_s: float = 0.0,
    ) -> Any:
        with self._send(method, path, json=json, params=params, timeout=_timeout(self.timeout_s, extra_timeout_s)) as r:
            return _decode(r)

    @contextmanager
    def stream(self, path: str) -> Iterator[httpx.Response]:
        """An open event stream; an error answer is raised before the first event."""
        timeout = httpx.Timeout(STREAM_READ_TIMEOUT_S, connect=self.timeout_s)
        with self._send("GET", path, timeout=timeout, stream=True, accept="text/event-stream") as r:
            yield r

    @contextmanager
    def _send(
        self, method: str, path: str, *, stream: bool = False, accept: str | None = None, **kw: Any
    ) -> Iterator[httpx.Response]:
        tried = 0
        extra = {"Accept": accept} if accept else None
        while True:
            tried += 1
            try:
                response = self.http.send(self.http.build_request(method, path, headers=extra, **kw), stream=True)
                try:
                    if response.is_error or not stream:
                        response.read()
                except BaseException:
                    response.close()
                    raise
            except httpx.TransportError as exc:
                pause = _pause(self.retry, tried, method, exc)
                if pause is None:
                    raise _unreachable(self.base_url, exc) from None
                time.sleep(pause)
                continue
            try:
                if not response.is_error:
                    yield response
                    return
                pause = _pause(self.retry, tried, method, response)
                if pause is None:
                    raise error_of(response)
            finally:
                response.close()
            time.sleep(pause)


class AsyncTransport:
    """The same as ``Transport``, on asyncio."""

    def __init__(self, base_url: str, api_key: str | None, *, timeout_s: float, retry: RetryPolicy) -> None:
        self.base_url, self.retry, self.timeout_s = base_url, retry, timeout_s
        self.http = httpx.AsyncClient(
            base_url=base_url, headers=headers(api_key), timeout=timeout_s, verify=_verify(base_url)
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        extra_timeout_s: float = 0.0,
    ) -> Any:
        timeout = _timeout(self.timeout_s, extra_timeout_s)
        async with self._send(method, path, json=json, params=params, timeout=timeout) as r:
            return _decode(r)

    @asynccontextmanager
    async def stream(self, path: str) -> AsyncIterator[httpx.Response]:
        timeout = httpx.Timeout(STREAM_READ_TIMEOUT_S, connect=self.timeout_s)
        async with self._send("GET", path, timeout=timeout, stream=True, accept="text/event-stream") as r:
            yield r

    @asynccontextmanager
    async def _send(
        self, method: str, path: str, *, stream: bool = False, accept: str | None = None, **kw: Any
    ) -> AsyncIterator[httpx.Response]:
        tried = 0
        extra = {"Accept": accept} if accept else None
        while True:
            tried += 1
            try:
                request = self.http.build_request(method, path, headers=extra, **kw)
                response = await self.http.send(request, stream=True)
                try:
                    if response.is_error or not stream:
                        await response.aread()
                except BaseException:
                    await response.aclose()
                    raise
            except httpx.TransportError as exc:
                pause = _pause(self.retry, tried, method, exc)
                if pause is None:
                    raise _unreachable(self.base_url, exc) from None
                await asyncio.sleep(pause)
                continue
            try:
                if not response.is_error:
                    yield response
                    return
                pause = _pause(self.retry, tried, method, response)
                if pause is None:
                    raise error_of(response)
            finally:
                await response.aclose()
            await asyncio.sleep(pause)
