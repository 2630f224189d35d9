"""Just enough of a Kubernetes API server for clients that only read: version, discovery, and GET of the
objects it was given.

``helm template --dry-run=server`` with a kubeconfig pointing here renders as an upgrade would, reading
back what the chart made at install (``lookup``); ``kubectl get`` and ``kubectl … --dry-run=client`` run
against the objects the chart renders. Nothing is ever written.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Doc = dict[str, Any]
NOT_FOUND = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}


def plural(kind: str) -> str:
    """The resource name of ``kind``, as the API server spells it (``NetworkPolicy`` → ``networkpolicies``)."""
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    if lower.endswith("s"):
        return lower + "es"
    return lower + "s"


class FakeApiServer:
    """Serves ``objects`` on a free loopback port, each under its apiVersion, kind, namespace and name."""

    def __init__(self, objects: Iterable[Doc]) -> None:
        self.objects: dict[tuple[str, str, str, str], Doc] = {}
        # apiVersion -> resource name -> kind; what the chart looks up is always there, as on a real server.
        self.kinds: dict[str, dict[str, str]] = {"v1": {"secrets": "Secret"}, "apps/v1": {"deployments": "Deployment"}}
        for obj in objects:
            version, kind, meta = obj["apiVersion"], obj["kind"], obj["metadata"]
            self.objects[(version, plural(kind), meta.get("namespace", ""), meta["name"])] = obj
            self.kinds.setdefault(version, {})[plural(kind)] = kind
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                fake.requests.append(path)
                code, body = fake.answer(path)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def answer(self, path: str) -> tuple[int, Doc]:
        if path == "/version":
            return 200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            return 200, self._groups()
        parts = path.strip("/").split("/")
        version = parts[1] if parts[0] == "api" else "/".join(parts[1:3])
        rest = parts[2:] if parts[0] == "api" else parts[3:]
        if version not in self.kinds:
            return 404, NOT_FOUND
        if not rest:
            return 200, self._resources(version)
        if len(rest) == 4 and rest[0] == "namespaces":
            found = self.objects.get((version, rest[2], rest[1], rest[3]))
            if found is not None:
                return 200, found
        return 404, NOT_FOUND

    def _groups(self) -> Doc:
        groups = []
        for version in sorted(v for v in self.kinds if "/" in v):
            group = version.split("/")[0]
            entry = {"groupVersion": version, "version": version.split("/")[1]}
            groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def _resources(self, version: str) -> Doc:
        resources = [
            {"name": name, "singularName": kind.lower(), "namespaced": True, "kind": kind, "verbs": ["get"]}
            for name, kind in sorted(self.kinds[version].items())
        ]
        return {"kind": "APIResourceList", "groupVersion": version, "resources": resources}

    def kubeconfig(self, directory: Path) -> Path:
        host, port = str(self._server.server_address[0]), self._server.server_address[1]
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": f"http://{host}:{port}"}}],
            "users": [{"name": "fake", "user": {"token": "fake"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }
        path = directory / "kubeconfig"
        path.write_text(json.dumps(config))
        return path

    def __enter__(self) -> FakeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
