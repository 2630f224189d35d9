"""A tiny real HTTP server that answers from a script, for faults the real API cannot be made to
show on demand (a 503 or 429 with a given ``Retry-After``, an event stream that closes early)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str, object]] | None = None  # a text/event-stream body instead of JSON


@dataclass
class Seen:
    method: str
    path: str
    at: float
    headers: dict[str, str]


def error(status: int, code: str, retry_after: str | None = None) -> Answer:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Answer(status, {"error": {"code": code, "message": f"{code} on purpose", "details": None}}, headers)


@dataclass
class FaultServer:
    url: str
    script: list[Answer]
    seen: list[Seen]


@contextmanager
def fault_server(script: list[Answer]) -> Iterator[FaultServer]:
    """Answers each request with the next answer of ``script``; the last one repeats."""
    seen: list[Seen] = []
    answers = list(script)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            seen.append(Seen(self.command, self.path, time.monotonic(), dict(self.headers)))
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            if answer.events is not None:
                payload = "".join(f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in answer.events).encode()
                content_type = "text/event-stream"
            else:
                payload, content_type = json.dumps(answer.body).encode(), "application/json"
            self.send_response(answer.status)
            for name, value in {"Content-Type": content_type, **answer.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FaultServer(f"http://127.0.0.1:{server.server_address[1]}", script, seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
