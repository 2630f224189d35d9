"""Traces from real processes to a real OTLP receiver: one trace from the API's request to the worker's run,
and nothing at all, not even the tracing SDK, when no ``OTEL_*`` variable is set.

oteltap hands over spans without their resource, so each process exports to a receiver of its own:
the receiver a span reached says which service sent it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from oteltap import OtelTapHttpProtobufReceiver, OtelTapHttpProtobufReceiverSettings, OtelTapInitializationError

from stoker_queue import Broker, RedisSettings, Registry, TaskInfo
from tests.support.processes import API_KEY, Service, start_api, start_worker, wait_for_task
from tests.support.redis_server import free_port

pytestmark = pytest.mark.slow

HEADERS = {"Authorization": f"Bearer {API_KEY}"}
PRODUCER_ATTRIBUTES = {
    "messaging.system": "stoker",
    "messaging.operation.type": "send",
    "messaging.operation.name": "send",
    "messaging.destination.name": "default",
    "stoker.task": "echo",
}


@dataclass
class Tap:
    """An OTLP receiver and every span it got so far."""

    port: int
    spans: list[Span] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.port}", "OTEL_BSP_SCHEDULE_DELAY": "100"}

    async def span(self, predicate: Callable[[Span], bool], timeout: float = 10) -> Span:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for s in self.spans:
                if predicate(s):
                    return s
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no such span; got {[(s.name, s.kind) for s in self.spans]}")
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def tap(port: int | None = None) -> AsyncIterator[Tap]:
    found = Tap(port or free_port())
    async with OtelTapHttpProtobufReceiver(OtelTapHttpProtobufReceiverSettings(http_port=found.port)) as rx:

        async def collect() -> None:
            async for s in rx.stream_traces():
                found.spans.append(s)

        task = asyncio.create_task(collect())
        await asyncio.sleep(0)  # subscribed before anything is sent
        try:
            yield found
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def attributes(span: Span) -> dict[str, object]:
    return {kv.key: getattr(kv.value, kv.value.WhichOneof("value") or "string_value") for kv in span.attributes}


def stop(api: Service, *workers: Service) -> None:
    for worker in workers:
        assert worker.terminate() == 0, worker.log()
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught.
    assert api.terminate() in (0, -signal.SIGTERM), api.log()


async def client_get(base: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        return await client.get(path)


async def publish_echo(redis_url: str) -> None:
    broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
    await Registry(broker).publish_tasks([TaskInfo(name="echo", queue="default")])
    await broker.close()


@pytest.fixture
def redis_url(newest_redis_url: str) -> str:
    redis.Redis.from_url(newest_redis_url).flushdb()
    return newest_redis_url


async def test_submit_spans_are_producers_under_the_request_span(redis_url: str, tmp_path: Path) -> None:
    await publish_echo(redis_url)
    async with tap() as api_tap:
        api, base = await asyncio.to_thread(start_api, redis_url, tmp_path, env=api_tap.env())
        try:
            async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=10) as client:
                one = (await client.post("/v1/jobs", json={"task": "echo", "input": 1})).json()["id"]
                r = await client.post("/v1/jobs/batch", json={"jobs": [{"task": "echo", "input": i} for i in range(3)]})
                batch = [a["id"] for a in r.json()["items"]]

            def send_of(job_id: str) -> Callable[[Span], bool]:
                return lambda s: s.name == "send default" and attributes(s).get("messaging.message.id") == job_id

            producer = await api_tap.span(send_of(one))
            assert producer.kind == Span.SPAN_KIND_PRODUCER
            assert attributes(producer) == PRODUCER_ATTRIBUTES | {
                "messaging.message.id": one,
                "stoker.job.created": True,
            }
            server = await api_tap.span(lambda s: s.span_id == producer.parent_span_id)
            assert (server.kind, server.name, server.trace_id) == (
                Span.SPAN_KIND_SERVER,
                "POST /v1/jobs",
                producer.trace_id,
            )
            # The enqueue's Redis command is the producer's child.
            redis_span = await api_tap.span(lambda s: s.parent_span_id == producer.span_id)
            assert redis_span.kind == Span.SPAN_KIND_CLIENT and redis_span.trace_id == producer.trace_id

            # A batch: one producer per job, all children of the one request span.
            sends = [await api_tap.span(send_of(job_id)) for job_id in batch]
            batch_server = await api_tap.span(lambda s: s.span_id == sends[0].parent_span_id)
            assert (batch_server.kind, batch_server.name) == (Span.SPAN_KIND_SERVER, "POST /v1/jobs/batch")
            assert all(s.parent_span_id == batch_server.span_id and s.trace_id == batch_server.trace_id for s in sends)
            assert len({s.span_id for s in sends}) == 3 and batch_server.trace_id != producer.trace_id
            # Probes and scrapes make no spans, not even of their Redis commands: every trace starts at a request.
            assert (await client_get(base, "/metrics")).status_code == 200
            await asyncio.sleep(0.5)
            assert not any(s.name.startswith(("GET /readyz", "GET /healthz", "GET /metrics")) for s in api_tap.spans)
            roots = {(s.kind, s.name) for s in api_tap.spans if not s.parent_span_id}
            assert roots == {(Span.SPAN_KIND_SERVER, n) for n in ("POST /v1/jobs", "POST /v1/jobs/batch")}
        finally:
            stop(api)


async def test_one_trace_runs_from_the_api_to_the_worker(redis_url: str, tmp_path: Path) -> None:
    async with tap() as api_tap, tap() as worker_tap:
        api, base = await asyncio.to_thread(start_api, redis_url, tmp_path, env=api_tap.env())
        worker = start_worker(redis_url, tmp_path, env=worker_tap.env())
        try:
            await asyncio.to_thread(wait_for_task, base, "echo")
            async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=10) as client:
                job_id = (await client.post("/v1/jobs", json={"task": "echo", "input": {"x": 1}})).json()["id"]
                r = await client.get(f"/v1/jobs/{job_id}", params={"wait": 20})
                assert r.json()["status"] == "succeeded", r.text

            producer = await api_tap.span(lambda s: attributes(s).get("messaging.message.id") == job_id)
            assert (producer.kind, producer.name) == (Span.SPAN_KIND_PRODUCER, "send default")
            server = await api_tap.span(lambda s: s.span_id == producer.parent_span_id)
            assert server.kind == Span.SPAN_KIND_SERVER
            consumer = await worker_tap.span(
                lambda s: s.kind == Span.SPAN_KIND_CONSUMER and s.trace_id == producer.trace_id
            )
            assert consumer.name == "process default"
            assert consumer.parent_span_id == producer.span_id
            assert attributes(consumer)["messaging.message.id"] == job_id
        finally:
            stop(api, worker)


async def test_without_otel_variables_the_api_exports_nothing(redis_url: str, tmp_path: Path) -> None:
    await publish_echo(redis_url)
    async with contextlib.AsyncExitStack() as stack:
        try:  # where an SDK left on by default would send its spans
            default_tap = await stack.enter_async_context(tap(4318))
        except OtelTapInitializationError as exc:
            pytest.skip(f"cannot listen on the default OTLP port 4318: {exc}")
        api, base = await asyncio.to_thread(start_api, redis_url, tmp_path)
        try:
            async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=10) as client:
                assert (await client.post("/v1/jobs", json={"task": "echo"})).status_code == 202
            await asyncio.sleep(1.0)
        finally:
            stop(api)
        assert default_tap.spans == []
        assert "tracing on" not in api.log()


LOADED = """
import json, sys
from stoker_api import ApiSettings, create_app
create_app(ApiSettings(auth_disabled=True))
prefixes = ("opentelemetry.sdk.trace", "opentelemetry.exporter", "opentelemetry.instrumentation")
print(json.dumps(sorted({m for m in sys.modules if m.startswith(prefixes)})))
"""


def _loaded_by_create_app(**otel: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "API_"))} | otel
    out = subprocess.run([sys.executable, "-c", LOADED], env=env, capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_create_app_imports_no_tracing_sdk_unless_asked() -> None:
    assert _loaded_by_create_app() == []
    # The same check sees them when tracing is on (a console exporter: nothing is sent anywhere).
    loaded = _loaded_by_create_app(OTEL_TRACES_EXPORTER="console")
    assert "opentelemetry.sdk.trace" in loaded
    assert "opentelemetry.instrumentation.fastapi" in loaded
