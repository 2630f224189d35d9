"""Logging for both services: text for a terminal, one JSON object per line for a cluster's log shipper.

A record's job fields (``JOB_FIELDS``) come from the call's ``extra=``, else from the enclosing
:func:`job_context`, else from the current OpenTelemetry span. All of it is looked up in the formatter,
so a call filtered out by level costs no more than logging's own level check.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from typing import Any, Literal, TextIO

from opentelemetry import trace
from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

JOB_FIELDS: tuple[str, ...] = ("job_id", "queue", "task", "trace_id")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_FORMATS = ("text", "json")

_job: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("stoker_job", default=None)
# https://www.w3.org/TR/trace-context/#traceparent-header-field-values
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
# Attributes every record has; any other one came from ``extra=``. uvicorn adds ``color_message``
# (its message with ANSI colours), which a shipper has no use for.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_OURS = frozenset({"time", "level", "logger", "message", "service", "span_id", "exception", "stack", *JOB_FIELDS})
_NOT_EXTRA = _RECORD_ATTRS | _OURS


class LogSettings(BaseSettings):
    """How a service logs.

    Args:
        level: the lowest level written (env ``LOG_LEVEL``): DEBUG, INFO, WARNING, ERROR or CRITICAL, any case.
        format: ``text`` for a terminal, ``json`` for a cluster, one object per line (env ``LOG_FORMAT``).
    """

    model_config = SettingsConfigDict(env_prefix="LOG_", extra="ignore", frozen=True)

    level: str = "INFO"
    format: Literal["text", "json"] = "text"

    @field_validator("level", mode="before")
    @classmethod
    def _known_level(cls, value: object) -> str:
        if isinstance(value, str) and value.strip().upper() in _LEVELS:
            return value.strip().upper()
        raise ValueError(f"must be one of {', '.join(_LEVELS)}")

    @field_validator("format", mode="before")
    @classmethod
    def _known_format(cls, value: object) -> str:
        if isinstance(value, str) and value.strip().lower() in _FORMATS:
            return value.strip().lower()
        raise ValueError("must be 'text' or 'json'")


def configure_logging(settings: LogSettings, *, service: str) -> None:
    """Send every record, warnings included, to one stderr handler in the chosen format.

    Calling it again replaces the handler it installed before; handlers others added stay.

    Args:
        settings: level and format.
        service: the ``service`` field of JSON lines, e.g. ``stoker-api``.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler(sys.stderr)
    handler.setFormatter(_JsonFormatter(service) if settings.format == "json" else _TextFormatter())
    root.addHandler(handler)
    root.setLevel(settings.level)
    logging.captureWarnings(True)


def job_fields(job_id: str, queue: str, task: str, trace_id: str | None = None) -> dict[str, str]:
    """The job's fields for one call, as ``log.info("...", extra=job_fields(...))``.

    Args:
        job_id: the job's id.
        queue: the queue it came from.
        task: the task name.
        trace_id: the job's 32-hex trace id, if it has one.
    """
    fields = {"job_id": job_id, "queue": queue, "task": task}
    if trace_id is not None:
        fields["trace_id"] = trace_id
    return fields


@contextlib.contextmanager
def job_context(job_id: str, queue: str, task: str, trace_id: str | None = None) -> Iterator[None]:
    """Every record logged inside carries the job's fields, in tasks and threads that copy the context too.

    Args:
        job_id: the job's id.
        queue: the queue it came from.
        task: the task name.
        trace_id: the job's 32-hex trace id, if it has one.
    """
    token = _job.set(job_fields(job_id, queue, task, trace_id))
    try:
        yield
    finally:
        _job.reset(token)


def trace_id_from_traceparent(traceparent: str | None) -> str | None:
    """The trace id of a W3C ``traceparent`` (``00-<32 hex>-<16 hex>-<2 hex>``), or None if it is not one.

    Args:
        traceparent: the header value, as carried in a job's envelope.
    """
    match = _TRACEPARENT.fullmatch(traceparent.strip()) if traceparent else None
    if match is None:
        return None
    version, trace_id, parent_id, _flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or set(trace_id) == {"0"} or set(parent_id) == {"0"}:
        return None
    return trace_id


class _Handler(logging.StreamHandler[TextIO]):
    """The handler :func:`configure_logging` installs, told apart from others so a second call replaces it."""


def _timestamp(record: logging.LogRecord) -> str:
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(record.created))}.{int(record.msecs):03d}Z"


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a bad format string or args must not lose the record
        return f"{_safe_str(record.msg)} (unformatted, args {_safe_str(record.args)})"


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


# Built once: json.dumps with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(default=_safe_str, allow_nan=False, ensure_ascii=False)


def _job_fields_of(record: logging.LogRecord) -> dict[str, str]:
    bound = _job.get()
    fields: dict[str, str] = {}
    for name in JOB_FIELDS:
        value = record.__dict__.get(name)
        if value is None and bound is not None:
            value = bound.get(name)
        if value is not None:
            fields[name] = _safe_str(value)
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        trace_id = trace.format_trace_id(span.trace_id)
        if fields.setdefault("trace_id", trace_id) == trace_id:
            fields["span_id"] = trace.format_span_id(span.span_id)
    return fields


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = _job_fields_of(record)
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {_message(record)}"
        if bound := " ".join(f"{k}={fields[k]}" for k in JOB_FIELDS if k in fields):
            line = f"{line} [{bound}]"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


class _JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
            "service": self._service,
            **_job_fields_of(record),
        }
        extras = {k: v for k, v in record.__dict__.items() if k not in _NOT_EXTRA}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        try:
            return _ENCODER.encode({**line, **extras})
        except (TypeError, ValueError, RecursionError):  # odd keys, cycles, NaN: stringify the extras
            return json.dumps({**line, **{k: _safe_str(v) for k, v in extras.items()}}, ensure_ascii=False)
