"""Pod-deletion-cost hints through the real kubernetes client, against a stand-in API server on
loopback (no cluster runs here): what is patched, how often, and that failures never raise."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from kubernetes import client

from stoker_worker.kube import ANNOTATION, PodDeletionCost


class ApiServer:
    def __init__(self, status: int = 200) -> None:
        self.status, self.patches = status, []  # type: ignore[var-annotated]
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_PATCH(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.patches.append((self.path, self.headers["Content-Type"], body))
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "w"}}).encode())

            def log_message(self, *_: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def core_api(self) -> client.CoreV1Api:
        config = client.Configuration(host=f"http://127.0.0.1:{self.http.server_address[1]}")
        return client.CoreV1Api(client.ApiClient(config))

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def api_server() -> Iterator[ApiServer]:
    server = ApiServer()
    yield server
    server.close()


async def test_patches_on_change_at_most_once_per_interval(api_server: ApiServer) -> None:
    cost = PodDeletionCost(api_server.core_api(), "worker-0", "ml", min_interval_s=0.2)
    await cost.update(0)
    await cost.update(0)  # unchanged: nothing sent
    await cost.update(3)  # within the interval: deferred
    assert len(api_server.patches) == 1
    path, content_type, body = api_server.patches[0]
    assert path == "/api/v1/namespaces/ml/pods/worker-0"
    assert "merge-patch" in content_type or "strategic-merge-patch" in content_type
    assert body == {"metadata": {"annotations": {ANNOTATION: "0"}}}
    import asyncio

    await asyncio.sleep(0.25)
    await cost.update(3)
    assert api_server.patches[-1][2] == {"metadata": {"annotations": {ANNOTATION: "3"}}}


async def test_failures_are_logged_once_and_never_raise(caplog: pytest.LogCaptureFixture) -> None:
    server = ApiServer(status=403)
    try:
        cost = PodDeletionCost(server.core_api(), "worker-0", "ml", min_interval_s=0)
        with caplog.at_level(logging.WARNING):
            await cost.update(1)
            await cost.update(2)
        assert len(server.patches) == 2
        assert caplog.text.count("could not annotate pod") == 1
    finally:
        server.close()


def test_outside_a_cluster_there_are_no_hints() -> None:
    assert PodDeletionCost.in_cluster(None, None, min_interval_s=1) is None
    assert PodDeletionCost.in_cluster("worker-0", "ml", min_interval_s=1) is None  # no service account here
