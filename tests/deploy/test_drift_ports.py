"""Drift guards: ports and probe paths in the chart are the ones the services serve."""

from __future__ import annotations

import asyncio

import httpx
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from stoker_api.main import create_app
from stoker_api.settings import ApiSettings
from stoker_queue import RedisSettings
from stoker_worker.health import HealthServer
from stoker_worker.settings import WorkerSettings
from tests.deploy.chart import SCENARIOS, Doc, env_map, of_kind, one, pod_name_of, render


def _probe_paths(container: Doc) -> dict[str, str]:
    return {p: str(container[p]["httpGet"]["path"]) for p in ("startupProbe", "livenessProbe", "readinessProbe")}


def _only_container(docs: list[Doc], name: str) -> Doc:
    (container,) = one(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def test_the_api_container_serves_on_the_settings_port_with_its_routes(newest_redis_url: str) -> None:
    docs = render()
    api = _only_container(docs, "demo-stoker-api")
    (port,) = api["ports"]
    assert port["containerPort"] == ApiSettings.model_fields["port"].default == 8000
    assert env_map(api)["API_PORT"] == str(port["containerPort"])
    paths = _probe_paths(api)
    assert paths == {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    settings = ApiSettings(api_keys=[SecretStr("k" * 16)], redis=RedisSettings(redis_url=newest_redis_url))
    with TestClient(create_app(settings)) as client:
        answers = {p: client.get(p).status_code for p in sorted(set(paths.values()) | {"/metrics"})}
    assert answers == {"/healthz": 200, "/metrics": 200, "/readyz": 200}
    service = one(docs, "Service", "demo-stoker-api")
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]


def test_the_worker_container_serves_health_on_the_settings_port() -> None:
    docs = render()
    worker = _only_container(docs, pod_name_of("default"))
    (port,) = worker["ports"]
    assert port["containerPort"] == WorkerSettings.model_fields["health_port"].default == 8081
    assert env_map(worker)["WORKER_HEALTH_PORT"] == str(port["containerPort"])
    assert _probe_paths(worker) == {"startupProbe": "/readyz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    assert {p["httpGet"]["port"] for p in (worker["startupProbe"], worker["livenessProbe"])} == {port["name"]}


def test_the_worker_health_server_answers_on_the_probed_paths() -> None:
    worker = _only_container(render(), pod_name_of("default"))
    paths = set(_probe_paths(worker).values()) | {"/metrics"}

    async def ok() -> tuple[bool, str]:
        return True, "fine"

    async def run() -> dict[str, int]:
        server = HealthServer("127.0.0.1", 0, live=ok, ready=ok, registry=CollectorRegistry())
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
                return {p: (await client.get(p)).status_code for p in sorted(paths)}
        finally:
            await server.close()

    assert asyncio.run(run()) == dict.fromkeys(sorted(paths), 200)


def test_monitors_scrape_the_named_ports_on_the_metrics_path() -> None:
    docs = render(*[s for s in SCENARIOS if s.name == "monitors-on-values.yaml"])
    (sm,) = of_kind(docs, "ServiceMonitor")
    assert [(e["port"], e["path"]) for e in sm["spec"]["endpoints"]] == [("http", "/metrics")]
    (pm,) = of_kind(docs, "PodMonitor")
    assert [(e["port"], e["path"]) for e in pm["spec"]["podMetricsEndpoints"]] == [("health", "/metrics")]


def test_network_policies_open_the_ports_the_containers_name() -> None:
    docs = render(*[s for s in SCENARIOS if s.name == "bundled-redis-values.yaml"])
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(docs, "NetworkPolicy")}
    ports = {name: spec["ingress"][0]["ports"][0]["port"] for name, spec in policies.items() if "ingress" in spec}
    assert ports == {"demo-stoker-api": "http", "demo-stoker-worker": "health", "demo-stoker-redis": "redis"}
    assert policies["demo-stoker-oneshot"]["policyTypes"] == ["Ingress"]  # catalog Jobs and the test pod: none
