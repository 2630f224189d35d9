"""Tracing setup shared by both services, and the trace context that rides in a job's envelope.

Export is configured by the standard ``OTEL_*`` variables only. With none of them set, tracing is
off: ``tracing_enabled`` is False, nothing of the SDK is imported, and the spans the services would
start are never created. The envelope carries W3C ``traceparent``/``tracestate``, whatever
``OTEL_PROPAGATORS`` says, because API and worker are the only two ends of that hop.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

EXPORTERS = ("otlp", "console")
OTLP_PROTOCOL = "http/protobuf"
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")  # the specific one wins
_PROPAGATOR = TraceContextTextMapPropagator()


class TracingConfigError(ValueError):
    """The ``OTEL_*`` variables ask for an exporter or protocol that is not installed."""


def _exporter_names(environ: Mapping[str, str]) -> list[str]:
    raw = environ.get("OTEL_TRACES_EXPORTER", "")
    return [n.strip().lower() for n in raw.split(",") if n.strip()]


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the standard variables ask for trace export.

    True when ``OTEL_SDK_DISABLED`` is not ``true`` and either ``OTEL_TRACES_EXPORTER`` names an
    exporter other than ``none``, or it is unset and an OTLP endpoint
    (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set. An explicit
    ``OTEL_TRACES_EXPORTER=none`` turns export off even with an endpoint set, as the spec says.

    Args:
        environ: the variables to read.
    """
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    names = _exporter_names(environ)
    if names:
        return any(n != "none" for n in names)
    return any(environ.get(name, "").strip() for name in _ENDPOINTS)


def _checked_exporters(environ: Mapping[str, str]) -> list[str]:
    names = [n for n in _exporter_names(environ) if n != "none"] or ["otlp"]
    for name in names:
        if name not in EXPORTERS:
            raise TracingConfigError(
                f"OTEL_TRACES_EXPORTER={name} is not supported: use otlp (OTLP over HTTP/protobuf), console or none"
            )
    if "otlp" in names:
        for var in _PROTOCOLS:
            protocol = environ.get(var, "").strip().lower()
            if protocol and protocol != OTLP_PROTOCOL:
                raise TracingConfigError(
                    f"{var}={protocol} is not supported: the installed OTLP exporter speaks {OTLP_PROTOCOL} only"
                )
            if protocol:
                break
    return names


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    # Endpoint, headers, timeout, compression and certificates come from OTEL_EXPORTER_OTLP_*.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


class TracingHandle:
    """The installed SDK provider; ``shutdown`` exports what is buffered and stops it."""

    def __init__(self, provider: TracerProvider) -> None:
        self._provider = provider
        self._closed = False

    def shutdown(self) -> None:
        """Flush buffered spans and stop exporting; call once at process exit (later calls do nothing)."""
        if not self._closed:
            self._closed = True
            self._provider.shutdown()


def setup_tracing(service_name: str, environ: Mapping[str, str] = os.environ) -> TracingHandle | None:
    """Install the global SDK tracer provider when the ``OTEL_*`` variables ask for export.

    The resource comes from ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``, with
    ``service.name`` defaulting to ``service_name``; the sampler from ``OTEL_TRACES_SAMPLER``; batching
    from ``OTEL_BSP_*``; the OTLP endpoint and headers from ``OTEL_EXPORTER_OTLP_*``. The SDK reads
    those from the process environment itself. Call once per process: OpenTelemetry keeps the
    first global provider it is given.

    Args:
        service_name: ``service.name`` unless the environment names one.
        environ: the variables that decide whether to export and with which exporter.

    Returns:
        None when tracing is off; else the handle to shut down at exit.

    Raises:
        TracingConfigError: an exporter other than otlp or console, or an OTLP protocol other than
            http/protobuf (gRPC is not installed).
    """
    if not tracing_enabled(environ):
        return None
    names = _checked_exporters(environ)
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # The environment's resource is merged last, so OTEL_SERVICE_NAME overrides the default name.
    resource = Resource.create({SERVICE_NAME: service_name}).merge(OTELResourceDetector().detect())
    provider = TracerProvider(resource=resource)
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    trace.set_tracer_provider(provider)
    log.info("tracing on: service %s, exporters %s", resource.attributes.get(SERVICE_NAME), ",".join(names))
    return TracingHandle(provider)


def inject_context(carrier: dict[str, str]) -> None:
    """Write the current trace context into ``carrier`` as W3C ``traceparent`` (and ``tracestate``).

    Args:
        carrier: the envelope's trace dict; left as it is when no span is current.
    """
    _PROPAGATOR.inject(carrier)


def extract_context(carrier: Mapping[str, str]) -> Context:
    """The context ``inject_context`` wrote: a parent for the next span. Empty when there is none.

    Args:
        carrier: the envelope's trace dict.
    """
    return _PROPAGATOR.extract(carrier)
