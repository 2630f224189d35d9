"""Server-sent events: the parser reads the stream format, and a follower reconnects when the API
closes a long stream with ``timeout``, until ``end``."""

from __future__ import annotations

from stoker_client import AsyncClient, Client, Event
from stoker_client.events import parse_events
from tests.client.fault_server import Answer, fault_server

JOB = "default.01KAQ2Y6J8X6V7NQ3B9Z1T4M5C"


def test_the_parser_reads_names_data_comments_and_line_endings() -> None:
    lines = [
        ": keep-alive",
        "",
        "event: status",
        'data: {"id": "j", "status": "running"}',
        "",
        "event: progress\r\n",
        'data: {"fraction": 0.5,',
        'data:  "message": "half"}',
        "",
        "event: orphan",
        "",
        "data: plain text",
        "",
    ]
    events = list(parse_events(lines))
    assert [e.name for e in events] == ["status", "progress", "message"]
    assert events[0].job is not None and events[0].job.status == "running"
    assert events[1].progress is not None and events[1].progress.fraction == 0.5
    assert events[1].progress.message == "half"
    assert events[2].data == {"value": "plain text"} and events[2].job is None


def _streams() -> list[Answer]:
    running = {"id": JOB, "status": "running"}
    first = [("status", running), ("progress", {"id": JOB, "fraction": 0.25, "message": ""}), ("timeout", running)]
    second = [("status", {"id": JOB, "status": "succeeded"}), ("end", {"id": JOB, "status": "succeeded"})]
    return [Answer(200, events=first), Answer(200, events=second)]


def test_a_follower_reconnects_after_timeout_and_stops_at_end() -> None:
    with fault_server(_streams()) as server, Client(server.url) as stoker:
        events: list[Event] = list(stoker.job(JOB).events())
    assert [e.name for e in events] == ["status", "progress", "status", "end"]
    assert [s.path for s in server.seen] == [f"/v1/jobs/{JOB}/events"] * 2
    assert server.seen[0].headers["Accept"] == "text/event-stream"


async def test_the_async_follower_reconnects_too() -> None:
    with fault_server(_streams()) as server:
        async with AsyncClient(server.url) as stoker:
            names = [e.name async for e in stoker.job(JOB).events()]
    assert names == ["status", "progress", "status", "end"]
    assert len(server.seen) == 2
