"""OpenTelemetry for the API, configured by the standard ``OTEL_*`` variables and set up only when they ask.

When on, every request gets a SERVER span (probes and ``/metrics`` excepted), every Redis command a
CLIENT span, and every submitted job a PRODUCER span ``send {queue}`` whose context rides in the
job's envelope to the worker's CONSUMER span, so one trace runs from the request to the result. When
off, the app is built with the plain ``Producer``: the submit path does no tracing work at all.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import Attributes

from stoker_queue import Broker, JobRequest, Producer, Submitted
from stoker_queue.tracing import TracingHandle, inject_context, setup_tracing

if TYPE_CHECKING:
    from fastapi import FastAPI

SERVICE_NAME = "stoker-api"
# Regexes searched in the request URL; OTEL_PYTHON_FASTAPI_EXCLUDED_URLS, when set, replaces them.
EXCLUDED_URLS = "/healthz$,/readyz$,/metrics$"
_EXCLUDED_URLS_ENV = ("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", "OTEL_PYTHON_EXCLUDED_URLS")


@dataclass(frozen=True)
class ApiTracing:
    """The installed provider and the tracer of the API's own spans."""

    handle: TracingHandle
    tracer: trace.Tracer


def start_tracing(environ: Mapping[str, str] = os.environ) -> ApiTracing | None:
    """Install the SDK provider for ``stoker-api``; None when the environment asks for no export."""
    handle = setup_tracing(SERVICE_NAME, environ)
    return None if handle is None else ApiTracing(handle, trace.get_tracer("stoker_api"))


def instrument(app: FastAPI, broker: Broker, environ: Mapping[str, str] = os.environ) -> None:
    """SERVER spans for ``app``'s requests and CLIENT spans for ``broker``'s Redis commands."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    from_env = any(environ.get(name) for name in _EXCLUDED_URLS_ENV)
    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls=None if from_env else EXCLUDED_URLS,
        # The per-message ASGI receive/send spans say nothing the SERVER span does not.
        exclude_spans=["receive", "send"],
    )
    RedisInstrumentor.instrument_client(broker.redis, tracer_provider=_InTraceOnly())


class _InTraceTracer(trace.Tracer):
    """Starts spans only under a valid parent; elsewhere hands out the no-op span."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def start_span(self, name: str, context: Context | None = None, *args: Any, **kwargs: Any) -> Span:
        if not trace.get_current_span(context).get_span_context().is_valid:
            return trace.INVALID_SPAN
        return self._tracer.start_span(name, context, *args, **kwargs)

    # The API declares this with a context-manager decorator of its own; the protocol is the same.
    @contextlib.contextmanager
    def start_as_current_span(  # type: ignore[override]
        self, name: str, context: Context | None = None, *args: Any, **kwargs: Any
    ) -> Iterator[Span]:
        if not trace.get_current_span(context).get_span_context().is_valid:
            yield trace.INVALID_SPAN
            return
        with self._tracer.start_as_current_span(name, context, *args, **kwargs) as span:
            yield span


class _InTraceOnly(trace.TracerProvider):
    """Tracers for the Redis instrumentation that record a command only inside a trace.

    Probes and scrapes have no SERVER span (they are excluded), so each ``PING`` and snapshot would
    otherwise start a one-span trace of its own every few seconds.
    """

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> trace.Tracer:
        provider = trace.get_tracer_provider()
        return _InTraceTracer(
            provider.get_tracer(instrumenting_module_name, instrumenting_library_version, schema_url, attributes)
        )


def _send_span(tracer: trace.Tracer, req: JobRequest) -> Span:
    return tracer.start_span(
        f"send {req.queue}",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "stoker",
            "messaging.operation.type": "send",
            "messaging.operation.name": "send",
            "messaging.destination.name": req.queue,
            "stoker.task": req.task,
        },
    )


def _carrier(span: Span) -> dict[str, str]:
    carrier: dict[str, str] = {}
    with trace.use_span(span, end_on_exit=False):
        inject_context(carrier)
    return carrier


class TracedProducer(Producer):
    """A ``Producer`` that wraps each job's enqueue in a PRODUCER span and carries it in the envelope.

    A batch gets one span per job, each a child of the request's span: every job is its own message
    with its own consumer, and the request's SERVER span already groups the batch.

    Args:
        broker: the shared connection.
        tracer: the tracer the spans come from.
    """

    def __init__(self, broker: Broker, tracer: trace.Tracer) -> None:
        super().__init__(broker)
        self._tracer = tracer

    async def submit_many(self, requests: list[JobRequest]) -> list[Submitted]:
        spans = [_send_span(self._tracer, r) for r in requests]
        traced = [replace(r, trace=_carrier(s)) for r, s in zip(requests, spans, strict=True)]
        # One job: its span is current, so the Redis command's span is its child. A batch's
        # single round trip belongs to no one job: its span stays under the request's.
        current = (
            trace.use_span(spans[0], end_on_exit=False, record_exception=False, set_status_on_exception=False)
            if len(spans) == 1
            else contextlib.nullcontext()
        )
        try:
            with current:
                answers = await super().submit_many(traced)
        except Exception as exc:
            for span in spans:
                span.record_exception(exc)
                span.set_attribute("error.type", type(exc).__qualname__)
                span.set_status(Status(StatusCode.ERROR, str(exc)))
            raise
        else:
            for span, answer in zip(spans, answers, strict=True):
                span.set_attribute("messaging.message.id", answer.id)
                span.set_attribute("stoker.job.created", answer.created)
        finally:
            for span in spans:
                span.end()
        return answers
