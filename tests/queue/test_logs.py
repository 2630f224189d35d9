"""Log lines: JSON and text shapes, job fields from extra, context and spans, settings validation."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from pydantic import ValidationError

from stoker_queue import RedisSettings
from stoker_queue.logs import (
    JOB_FIELDS,
    LogSettings,
    configure_logging,
    job_context,
    job_fields,
    trace_id_from_traceparent,
)
from stoker_queue.settings import settings_errors

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
log = logging.getLogger(__name__)

Configure = Callable[..., io.StringIO]


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """Configure logging into a buffer; the root logger is put back as it was afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)

    def _configure(fmt: Literal["text", "json"] = "json", level: str = "DEBUG") -> io.StringIO:
        stream = io.StringIO()
        monkeypatch.setattr(sys, "stderr", stream)
        configure_logging(LogSettings(format=fmt, level=level), service="stoker-test")
        return stream

    yield _configure
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_carries_time_level_logger_message_and_service(configure: Configure) -> None:
    stream = configure()
    log.info("hello %s", "world")
    (line,) = _lines(stream)
    assert list(line) == ["time", "level", "logger", "message", "service"]
    assert re.fullmatch(TIME, line["time"])
    assert line["level"] == "INFO" and line["logger"] == __name__
    assert line["message"] == "hello world" and line["service"] == "stoker-test"


def test_job_fields_come_from_extra(configure: Configure) -> None:
    stream = configure()
    log.info("claimed", extra=job_fields("j1", "gpu", "embed", TRACE_ID))
    log.info("claimed", extra=job_fields("j2", "gpu", "embed"))
    first, second = _lines(stream)
    assert {k: first[k] for k in JOB_FIELDS} == {"job_id": "j1", "queue": "gpu", "task": "embed", "trace_id": TRACE_ID}
    assert second["job_id"] == "j2" and "trace_id" not in second and "span_id" not in second


def test_job_context_marks_every_record_inside_it_and_none_after(configure: Configure) -> None:
    stream = configure()
    with job_context("j1", "gpu", "embed", TRACE_ID):
        logging.getLogger("some.library").warning("inside")
        log.info("overridden", extra={"job_id": "j9"})
    log.info("after")
    inside, overridden, after = _lines(stream)
    assert (inside["job_id"], inside["queue"], inside["task"], inside["trace_id"]) == ("j1", "gpu", "embed", TRACE_ID)
    assert overridden["job_id"] == "j9" and overridden["queue"] == "gpu"
    assert not set(JOB_FIELDS) & set(after)


async def test_job_context_follows_tasks_and_threads_started_inside_it(configure: Configure) -> None:
    stream = configure()

    async def child(name: str) -> None:
        await asyncio.sleep(0)
        log.info(name)

    outside = asyncio.create_task(child("outside"))
    with job_context("j1", "gpu", "embed"):
        inside = asyncio.create_task(child("task"))
        await asyncio.to_thread(log.info, "thread")
    await asyncio.gather(inside, outside)
    by_message = {line["message"]: line for line in _lines(stream)}
    assert by_message["task"]["job_id"] == "j1" and by_message["thread"]["job_id"] == "j1"
    assert "job_id" not in by_message["outside"]


def test_exception_holds_the_traceback(configure: Configure) -> None:
    stream = configure()
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        log.exception("it broke")
    (line,) = _lines(stream)
    assert line["message"] == "it broke" and line["level"] == "ERROR"
    assert line["exception"].startswith("Traceback") and "ZeroDivisionError" in line["exception"]


def test_odd_extras_and_bad_arguments_still_make_a_json_line(
    configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = configure()
    # Only our handler: pytest's own capture handler raises on the bad arguments.
    isolated = logging.getLogger(f"{__name__}.isolated")
    monkeypatch.setattr(isolated, "propagate", False)
    monkeypatch.setattr(isolated, "handlers", logging.getLogger().handlers[-1:])
    isolated.info("odd", extra={"obj": object(), "nan": float("nan"), "tuple_keys": {(1, 2): 3}, "n": 3})
    isolated.info("%d jobs", "many")
    isolated.info("no colours", extra={"color_message": "\x1b[1mno colours\x1b[0m"})
    odd, bad, plain = _lines(stream)
    assert odd["obj"].startswith("<object object") and odd["nan"] == "nan" and odd["n"] == "3"
    assert bad["message"].startswith("%d jobs")
    assert "color_message" not in plain


def test_a_record_below_the_level_is_not_formatted(configure: Configure) -> None:
    class Loud:
        def __str__(self) -> str:
            raise AssertionError("formatted a filtered record")

    stream = configure(level="info")
    log.debug("%s", Loud())
    assert stream.getvalue() == ""


def test_text_lines_show_the_job_fields_in_brackets(configure: Configure) -> None:
    stream = configure("text")
    log.info("plain")
    with job_context("j1", "gpu", "embed", TRACE_ID):
        log.warning("for %s", "a job")
    plain, job = stream.getvalue().splitlines()
    assert re.fullmatch(rf"{TIME} INFO {re.escape(__name__)}: plain", plain)
    expected = (
        rf"{TIME} WARNING {re.escape(__name__)}: for a job \[job_id=j1 queue=gpu task=embed trace_id={TRACE_ID}\]"
    )
    assert re.fullmatch(expected, job)


def test_text_lines_put_the_traceback_below(configure: Configure) -> None:
    stream = configure("text")
    try:
        raise KeyError("missing")
    except KeyError:
        log.exception("lookup failed")
    first, *rest = stream.getvalue().splitlines()
    assert first.endswith("lookup failed") and rest[0] == "Traceback (most recent call last):"


def test_trace_and_span_ids_come_from_the_current_span(configure: Configure) -> None:
    stream = configure()
    tracer = TracerProvider().get_tracer(__name__)
    with tracer.start_as_current_span("job") as span:
        log.info("in a span")
        with job_context("j1", "gpu", "embed", "0" * 31 + "1"):
            log.info("another trace")
    context = span.get_span_context()
    in_span, other = _lines(stream)
    assert in_span["trace_id"] == f"{context.trace_id:032x}" and in_span["span_id"] == f"{context.span_id:016x}"
    assert other["trace_id"] == "0" * 31 + "1" and "span_id" not in other


def test_a_remote_span_context_gives_its_trace_id(configure: Configure) -> None:
    stream = configure()
    parent = trace.SpanContext(int(TRACE_ID, 16), 0x00F067AA0BA902B7, is_remote=True)
    with trace.use_span(trace.NonRecordingSpan(parent)):
        log.info("remote")
    (line,) = _lines(stream)
    assert line["trace_id"] == TRACE_ID and line["span_id"] == "00f067aa0ba902b7"


def test_configuring_twice_leaves_one_handler(configure: Configure) -> None:
    root = logging.getLogger()
    before = len(root.handlers)
    configure("text")
    stream = configure("json")
    assert len(root.handlers) == before + 1
    log.info("once")
    assert len(_lines(stream)) == 1


@pytest.mark.parametrize(
    ("traceparent", "expected"),
    [
        (f"00-{TRACE_ID}-00f067aa0ba902b7-01", TRACE_ID),
        (f" 00-{TRACE_ID}-00f067aa0ba902b7-00 ", TRACE_ID),
        (f"01-{TRACE_ID}-00f067aa0ba902b7-01-future", TRACE_ID),
        (None, None),
        ("", None),
        ("garbage", None),
        (f"00-{TRACE_ID}-00f067aa0ba902b7-01-extra", None),
        (f"ff-{TRACE_ID}-00f067aa0ba902b7-01", None),
        (f"00-{TRACE_ID.upper()}-00f067aa0ba902b7-01", None),
        (f"00-{'0' * 32}-00f067aa0ba902b7-01", None),
        (f"00-{TRACE_ID}-{'0' * 16}-01", None),
        (f"00-{TRACE_ID[:-1]}-00f067aa0ba902b7-01", None),
    ],
)
def test_trace_id_from_traceparent(traceparent: str | None, expected: str | None) -> None:
    assert trace_id_from_traceparent(traceparent) == expected


def test_log_settings_read_the_environment_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert (LogSettings().level, LogSettings().format) == ("INFO", "text")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert (LogSettings().level, LogSettings().format) == ("DEBUG", "json")


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        ("LOG_FORMAT", "xml", "LOG_FORMAT: must be 'text' or 'json'"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("LOG_LEVEL", "10", "LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ],
)
def test_bad_log_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str, line: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        LogSettings()
    assert settings_errors(caught.value, LogSettings) == [line]


def test_settings_errors_never_show_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_MAX_CONNECTIONS", "hunter2-is-my-password")
    with pytest.raises(ValidationError) as caught:
        RedisSettings()
    assert "hunter2" in str(caught.value)  # what pydantic would have printed
    (line,) = settings_errors(caught.value, RedisSettings)
    assert line.startswith("REDIS_MAX_CONNECTIONS: ") and "hunter2" not in line
