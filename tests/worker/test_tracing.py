"""Spans of jobs in a real worker: children of the submit's trace, retries linked, batches linked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from stoker_queue import Broker, JobRequest, JobStatus, Producer, Reader
from stoker_worker.tracing import TracingObserver
from tests.worker.conftest import StartWorker, wait_done

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PRODUCER_SPAN = "00f067aa0ba902b7"
CARRIER = {"traceparent": f"00-{TRACE}-{PRODUCER_SPAN}-01"}


@pytest.fixture
def spans() -> Iterator[tuple[InMemorySpanExporter, TracingObserver]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter, TracingObserver(provider.get_tracer("test"))
    provider.shutdown()


def _named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


async def test_each_attempt_is_a_consumer_span_in_the_submit_trace(
    broker: Broker, start_worker: StartWorker, spans: tuple[InMemorySpanExporter, TracingObserver]
) -> None:
    exporter, observer = spans
    producer, reader = Producer(broker), Reader(broker)
    await start_worker(retry_backoff_s=0.01, queues=["default", "traced"], observers=[observer])
    flaky = (await producer.submit(JobRequest(task="explode", input={"a": "b"}, max_attempts=2, trace=CARRIER))).id
    seen = (await producer.submit(JobRequest(task="traced", queue="traced", input=None, trace=CARRIER))).id
    assert (await wait_done(reader, flaky)).status is JobStatus.FAILED
    assert (await wait_done(reader, seen)).status is JobStatus.SUCCEEDED
    first, second = sorted(_named(exporter, "process default"), key=lambda s: s.start_time or 0)
    for span in (first, second):
        assert span.kind is SpanKind.CONSUMER and span.context is not None and span.parent is not None
        assert format(span.context.trace_id, "032x") == TRACE
        assert format(span.parent.span_id, "016x") == PRODUCER_SPAN
        assert span.attributes is not None and span.attributes["messaging.message.id"] == flaky
    assert [s.attributes["stoker.attempt"] for s in (first, second) if s.attributes] == [1, 2]
    assert first.context is not None and [link.context.span_id for link in second.links] == [first.context.span_id]
    assert [e.name for e in second.events] == ["attempt failed"]
    # The handler's thread ran inside the job's span.
    assert await reader.get_result(seen) == TRACE


async def test_a_batch_run_is_one_span_linked_to_every_job(
    broker: Broker, start_worker: StartWorker, spans: tuple[InMemorySpanExporter, TracingObserver]
) -> None:
    exporter, observer = spans
    producer, reader = Producer(broker), Reader(broker)
    await start_worker(queues=["batch"], observers=[observer])
    ids = [
        (await producer.submit(JobRequest(task="square", queue="batch", input=i, trace=CARRIER))).id for i in range(4)
    ]
    for job_id in ids:
        await wait_done(reader, job_id)
    (batch,) = _named(exporter, "batch square")
    jobs = _named(exporter, "process batch")
    assert sorted(s.attributes["messaging.message.id"] for s in jobs if s.attributes) == sorted(ids)
    assert {link.context.span_id for link in batch.links} == {s.context.span_id for s in jobs if s.context}
    assert batch.attributes is not None and batch.attributes["messaging.batch.message_count"] == 4
