"""Tracing setup from the standard OTEL_* variables, and the trace context carried in an envelope."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from stoker_queue.tracing import TracingConfigError, extract_context, inject_context, setup_tracing, tracing_enabled

ENDPOINT = "http://127.0.0.1:4318"


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x", "OTEL_RESOURCE_ATTRIBUTES": "a=b", "OTEL_TRACES_SAMPLER": "always_on"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{ENDPOINT}/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp,console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, False),
        ({"OTEL_TRACES_EXPORTER": "", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, True),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, False),
        ({"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "console"}, False),
        ({"OTEL_SDK_DISABLED": "false", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, True),
        ({"OTEL_METRICS_EXPORTER": "otlp", "OTEL_LOGS_EXPORTER": "otlp"}, False),
    ],
)
def test_tracing_enabled(environ: dict[str, str], enabled: bool) -> None:
    assert tracing_enabled(environ) is enabled
    if not enabled:
        assert setup_tracing("svc", environ) is None


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "PROTOCOL=grpc"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, "PROTOCOL=grpc"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "http/json"),
        # The traces-specific variable wins over the general one.
        (
            {
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
            },
            "TRACES_PROTOCOL=grpc",
        ),
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER=zipkin"),
        ({"OTEL_TRACES_EXPORTER": "console,jaeger"}, "OTEL_TRACES_EXPORTER=jaeger"),
    ],
)
def test_unsupported_exporter_or_protocol_is_a_one_line_error(environ: dict[str, str], names: str) -> None:
    with pytest.raises(TracingConfigError) as info:
        setup_tracing("svc", environ)
    message = str(info.value)
    assert names in message and "\n" not in message
    assert "http/protobuf" in message or "otlp" in message  # says what is supported
    assert isinstance(info.value, ValueError)
    # Nothing was installed.
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"


SETUP = """
import json, sys
from opentelemetry import trace
from stoker_queue.tracing import setup_tracing
handle = setup_tracing("svc")
with trace.get_tracer("t").start_as_current_span("hello"):
    pass
handle.shutdown()
handle.shutdown()
print(json.dumps({"provider": type(trace.get_tracer_provider()).__module__}), file=sys.stderr)
"""


def _run_setup(**otel: str) -> tuple[list[dict[str, object]], dict[str, str]]:
    """Spans the console exporter printed, and what the script reported, from a fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")} | otel
    out = subprocess.run([sys.executable, "-c", SETUP], env=env, capture_output=True, text=True, check=True)
    decoder, text, spans = json.JSONDecoder(), out.stdout.strip(), []
    while text:
        span, end = decoder.raw_decode(text)
        spans.append(span)
        text = text[end:].strip()
    return spans, json.loads(out.stderr.strip().splitlines()[-1])


def test_setup_installs_the_sdk_with_the_resource_and_sampler_from_the_environment() -> None:
    spans, report = _run_setup(OTEL_TRACES_EXPORTER="console", OTEL_RESOURCE_ATTRIBUTES="deployment.environment=ci")
    assert report["provider"] == "opentelemetry.sdk.trace"
    (span,) = spans
    assert span["name"] == "hello"
    resource = span["resource"]["attributes"]
    assert resource["service.name"] == "svc" and resource["deployment.environment"] == "ci"

    spans, _ = _run_setup(OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="renamed")
    assert spans[0]["resource"]["attributes"]["service.name"] == "renamed"

    spans, _ = _run_setup(OTEL_TRACES_EXPORTER="console", OTEL_TRACES_SAMPLER="always_off")
    assert spans == []


def _span_context(**kw: object) -> SpanContext:
    return SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        **kw,  # type: ignore[arg-type]
    )


def test_inject_then_extract_round_trips_the_w3c_context() -> None:
    parent = _span_context(trace_state=TraceState([("vendor", "value")]))
    carrier: dict[str, str] = {}
    with trace.use_span(NonRecordingSpan(parent)):
        inject_context(carrier)
    assert carrier == {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate": "vendor=value",
    }
    got = trace.get_current_span(extract_context(carrier)).get_span_context()
    assert (got.trace_id, got.span_id, got.trace_flags, got.is_remote) == (parent.trace_id, parent.span_id, 1, True)
    assert got.trace_state == parent.trace_state
    assert json.loads(json.dumps(carrier)) == carrier  # plain strings: the envelope stays JSON


def test_no_current_span_injects_nothing_and_an_empty_or_bad_carrier_extracts_no_parent() -> None:
    carrier: dict[str, str] = {}
    inject_context(carrier)
    assert carrier == {}
    for bad in ({}, {"traceparent": "not-a-traceparent"}, {"traceparent": "00-" + "0" * 32 + "-" + "0" * 16 + "-01"}):
        assert not trace.get_current_span(extract_context(bad)).get_span_context().is_valid
