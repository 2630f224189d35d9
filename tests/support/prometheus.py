"""A real Prometheus server for tests: scrapes loopback targets every second, optionally evaluates rule files.

The binaries come from ``scripts/install-prometheus.sh`` (into ``.tools/bin/``) or from ``PATH``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.redis_server import free_port
from tests.support.tools import require_tool as _require

Series = dict[str, Any]  # one element of a query result: {"metric": {...}, "value": [ts, "v"]}


def require_tool(name: str) -> str:
    """``prometheus`` or ``promtool``, from ``scripts/install-prometheus.sh``."""
    return _require(name, "scripts/install-prometheus.sh")


class QueryError(RuntimeError):
    """Prometheus answered a query with an error (bad PromQL gives HTTP 400, ``errorType: bad_data``)."""


class Prometheus:
    """A prometheus subprocess on a free loopback port with its own config and storage."""

    def __init__(self, binary: str, targets: Sequence[str], rule_files: Sequence[Path] = ()) -> None:
        self.binary = binary
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="stoker-prometheus-"))
        self._proc: subprocess.Popen[bytes] | None = None
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(Path(f).resolve()) for f in rule_files],
            "scrape_configs": [{"job_name": "stoker", "static_configs": [{"targets": list(targets)}]}],
        }
        (self._dir / "prometheus.yml").write_text(json.dumps(config, indent=2))  # JSON is YAML too

    def start(self, timeout: float = 30) -> None:
        self._log = (self._dir / "prometheus.log").open("wb")
        self._proc = subprocess.Popen(
            [
                self.binary,
                f"--config.file={self._dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self._dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self._proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"prometheus not ready:\n{self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        return (self._dir / "prometheus.log").read_text(errors="replace")

    def api(self, path: str, **params: str) -> Any:
        """The ``data`` of a GET on ``/api/v1/<path>``; raises QueryError on an error answer."""
        body = httpx.get(f"{self.base}/api/v1/{path}", params=params, timeout=10).json()
        if body.get("status") != "success":
            raise QueryError(f"{body.get('errorType')}: {body.get('error')} ({params})")
        return body["data"]

    def query(self, expr: str) -> list[Series]:
        """An instant query at now; the result as a list (a scalar answer becomes one series)."""
        data = self.api("query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def wait_for(self, expr: str, timeout: float = 30) -> list[Series]:
        """Poll ``expr`` until it returns at least one series."""
        deadline = time.monotonic() + timeout
        while not (result := self.query(expr)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no series for {expr!r} after {timeout} s")
            time.sleep(0.2)
        return result

    def close(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
            self._log.close()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextmanager
def prometheus_server(targets: Sequence[str], rule_files: Sequence[Path] = ()) -> Iterator[Prometheus]:
    """A ready Prometheus scraping ``targets`` ("127.0.0.1:PORT"), stopped afterwards.

    It is ready at once but takes about 6 s to the first scrape (target updates are throttled to 5 s):
    poll with ``wait_for``, do not sleep.
    """
    server = Prometheus(require_tool("prometheus"), targets, rule_files)
    try:
        server.start()
        yield server
    finally:
        server.close()
