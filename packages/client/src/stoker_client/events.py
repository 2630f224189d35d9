"""A job's server-sent events: parsing the stream, and following it to the job's end.

The API sends ``status`` (the whole job) on connect and on each change, ``progress`` between, and
``end`` last. It closes a long stream with ``timeout``, and a proxy may cut one; either way the
follower reconnects, and the ``status`` event that opens the new stream says where the job stands.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

import httpx

from stoker_client.errors import ApiUnreachable
from stoker_client.models import Event
from stoker_client.transport import AsyncTransport, Transport

# Reconnects in a row that brought no event: past this the API is taken to be gone.
MAX_IDLE_RECONNECTS = 3


class SseParser:
    """Feed lines of ``text/event-stream``; a blank line completes an event."""

    def __init__(self) -> None:
        self._name, self._data = "message", list[str]()

    def feed(self, line: str) -> Event | None:
        line = line.rstrip("\r\n")
        if not line:
            if not self._data:
                self._name = "message"
                return None
            event = _event(self._name, "\n".join(self._data))
            self._name, self._data = "message", []
            return event
        if line.startswith(":"):  # a comment: the API's keep-alive
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._name = value
        elif field == "data":
            self._data.append(value)
        return None


def _event(name: str, data: str) -> Event:
    try:
        decoded = json.loads(data)
    except ValueError:
        decoded = data
    return Event(name, decoded if isinstance(decoded, dict) else {"value": decoded})


def parse_events(lines: Iterable[str]) -> Iterator[Event]:
    parser = SseParser()
    for line in lines:
        if (event := parser.feed(line)) is not None:
            yield event


async def aparse_events(lines: AsyncIterable[str]) -> AsyncIterator[Event]:
    parser = SseParser()
    async for line in lines:
        if (event := parser.feed(line)) is not None:
            yield event


def _path(job_id: str) -> str:
    return f"/v1/jobs/{job_id}/events"


def follow(transport: Transport, job_id: str) -> Iterator[Event]:
    """Every event of the job until ``end`` (included), across reconnects."""
    idle = 0
    while True:
        try:
            with transport.stream(_path(job_id)) as response:
                for event in parse_events(response.iter_lines()):
                    idle = 0
                    if event.name == "timeout":
                        break
                    yield event
                    if event.name == "end":
                        return
        except httpx.TransportError as exc:
            if idle >= MAX_IDLE_RECONNECTS:
                raise ApiUnreachable(transport.base_url, str(exc) or type(exc).__name__) from None
        idle += 1
        if idle > MAX_IDLE_RECONNECTS:
            raise ApiUnreachable(transport.base_url, "the event stream keeps closing before the job ends")


async def afollow(transport: AsyncTransport, job_id: str) -> AsyncIterator[Event]:
    """``follow`` on asyncio."""
    idle = 0
    while True:
        try:
            async with transport.stream(_path(job_id)) as response:
                async for event in aparse_events(response.aiter_lines()):
                    idle = 0
                    if event.name == "timeout":
                        break
                    yield event
                    if event.name == "end":
                        return
        except httpx.TransportError as exc:
            if idle >= MAX_IDLE_RECONNECTS:
                raise ApiUnreachable(transport.base_url, str(exc) or type(exc).__name__) from None
        idle += 1
        if idle > MAX_IDLE_RECONNECTS:
            raise ApiUnreachable(transport.base_url, "the event stream keeps closing before the job ends")
