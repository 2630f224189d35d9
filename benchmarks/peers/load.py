"""A load process, and the raw HTTP/1.1 it speaks: pre-encoded requests on keep-alive connections. Raw bytes,
because an HTTP client library spends about a millisecond of CPU per request, and on a small machine would
set the pace instead of the API (see ``api_bench.py``).

    python load.py URL PATH BODY_FILE SECONDS CONCURRENCY   ->   {"ok": .., "errors": .., "rps": ..}
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from pathlib import Path

_CONTENT_LENGTH = re.compile(rb"content-length: *(\d+)", re.IGNORECASE)


def encode(url: str, path: str, body: bytes) -> bytes:
    """One POST of a JSON ``body`` to ``path`` on ``url`` (``http://host:port``)."""
    host = url.removeprefix("http://")
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
    return f"{head}\r\n\r\n".encode() + body


class Connection:
    """One keep-alive connection, one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """The answer's status and body."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = _CONTENT_LENGTH.search(head)
        body = await self.reader.readexactly(int(length.group(1)) if length else 0)
        return int(head[9:12]), body

    def close(self) -> None:
        self.writer.close()


async def _closed_loop(url: str, request: bytes, until: float, counts: list[int]) -> None:
    conn = await Connection.open(url)
    try:
        while time.perf_counter() < until:
            status, _ = await conn.send(request)
            counts[0 if 200 <= status < 300 else 1] += 1
    finally:
        conn.close()


async def drive(url: str, path: str, body: bytes, seconds: float, concurrency: int) -> dict[str, float]:
    """``concurrency`` connections sending the same request back to back for ``seconds``."""
    request, counts = encode(url, path, body), [0, 0]
    began = time.perf_counter()
    until = began + seconds
    await asyncio.gather(*(_closed_loop(url, request, until, counts) for _ in range(concurrency)))
    return {"ok": counts[0], "errors": counts[1], "rps": counts[0] / (time.perf_counter() - began)}


if __name__ == "__main__":
    url, path, body_file, seconds, concurrency = sys.argv[1:6]
    body = Path(body_file).read_bytes()
    print(json.dumps(asyncio.run(drive(url, path, body, float(seconds), int(concurrency)))))
