"""Traces: one CONSUMER span per attempt of a job, in the trace its submit started.

The API's PRODUCER span travels in the envelope as a W3C ``traceparent``; each attempt's span is
its child, so one trace runs from the submit to the result. An attempt that follows a failed or
evicted one links to it. A batch run is a span of its own, linked to the span of every job in
it. Installed only when ``OTEL_*`` asks for export; otherwise no observer here exists at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from stoker_queue import ClaimedJob, JobStatus
from stoker_queue.tracing import extract_context
from stoker_worker.observe import JobObserver

_PROPAGATOR = TraceContextTextMapPropagator()


def _link_to(traceparent: str) -> Link | None:
    context = _PROPAGATOR.extract({"traceparent": traceparent})
    span_context = trace.get_current_span(context).get_span_context()
    return Link(span_context, {"stoker.link": "previous_attempt"}) if span_context.is_valid else None


class TracingObserver(JobObserver):
    """Keeps a span open for every job the worker holds."""

    def __init__(self, tracer: trace.Tracer | None = None) -> None:
        self._tracer = tracer or trace.get_tracer("stoker_worker")
        self._spans: dict[str, Span] = {}

    def claimed(self, job: ClaimedJob) -> None:
        env = job.envelope
        previous = _link_to(job.previous_attempt_trace) if job.previous_attempt_trace else None
        self._spans[job.id] = self._tracer.start_span(
            f"process {env.queue}",
            context=extract_context(env.trace),
            kind=SpanKind.CONSUMER,
            links=[previous] if previous else None,
            attributes={
                "messaging.system": "stoker",
                "messaging.operation.type": "process",
                "messaging.operation.name": "process",
                "messaging.destination.name": env.queue,
                "messaging.message.id": job.id,
                "stoker.task": env.task,
                "stoker.attempt": job.attempt,
                "stoker.wait_s": job.wait_s,
            },
        )

    @contextlib.contextmanager
    def running(self, task: str, jobs: Sequence[ClaimedJob]) -> Iterator[None]:
        spans = [s for j in jobs if (s := self._spans.get(j.id)) is not None]
        if len(jobs) == 1 and spans:
            # The handler's own spans (and its logs' trace ids) belong to the job's span.
            with trace.use_span(spans[0], end_on_exit=False, record_exception=False, set_status_on_exception=False):
                yield
            return
        links = [Link(s.get_span_context()) for s in spans]
        attributes: dict[str, AttributeValue] = {"stoker.task": task, "messaging.batch.message_count": len(jobs)}
        with self._tracer.start_as_current_span(f"batch {task}", links=links, attributes=attributes):
            yield

    def attempt_failed(self, job: ClaimedJob, code: str, message: str, status: JobStatus) -> None:
        if span := self._spans.get(job.id):
            span.add_event("attempt failed", {"stoker.error.code": code, "stoker.error.message": message[:500]})
            span.set_attribute("stoker.next_status", status.value)
            span.set_status(Status(StatusCode.ERROR, code))

    def finished(self, job: ClaimedJob, outcome: JobStatus, run_s: float) -> None:
        if span := self._spans.get(job.id):
            span.set_attribute("stoker.outcome", outcome.value)
            span.set_attribute("stoker.run_s", run_s)
            if outcome is JobStatus.SUCCEEDED:
                span.set_status(Status(StatusCode.OK))

    def evicted(self, job: ClaimedJob) -> None:
        if span := self._spans.get(job.id):
            span.add_event("evicted")
            span.set_attribute("stoker.next_status", JobStatus.QUEUED.value)

    def released(self, job: ClaimedJob) -> None:
        if span := self._spans.pop(job.id, None):
            span.end()

    def attempt_trace(self, job: ClaimedJob) -> str | None:
        span = self._spans.get(job.id)
        if span is None:
            return None
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
        return carrier.get("traceparent")
