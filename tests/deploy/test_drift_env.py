"""Drift guards: the chart speaks the services' language.

Trigger lists are the queue core's keys; every variable the chart sets is a settings field; what the chart
renders is accepted by the settings classes; the schema's `settings` maps name exactly the fields the
chart leaves to the user.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from stoker_api.settings import ApiSettings
from stoker_queue import PRIORITIES, RedisSettings
from stoker_queue.keys import QueueKeys
from stoker_queue.logs import LogSettings
from stoker_worker.settings import WorkerSettings
from tests.deploy.chart import CHART, SCENARIO_IDS, SCENARIOS, Doc, component, containers, env_map, pod_specs, render

DOWNWARD = {"POD_NAME", "POD_NAMESPACE", "NODE_NAME"}
# Process environment, not settings: HOME points the libraries' caches at the writable /tmp under a
# read-only root filesystem.
PLUMBING = {"HOME"}
# What the chart sets itself rather than through a `settings` map.
API_MANAGED = {"host", "port", "api_keys", "admin_keys", "auth_disabled", "redis"}
WORKER_MANAGED = {"queues", "tasks", "concurrency", "drain_s", "device", "health_port", "health_host", "burst"}
WORKER_MANAGED |= {"max_jobs", "webhook_secret", "pod_deletion_cost", "pod_name", "pod_namespace", "node_name"}
WORKER_MANAGED |= {"worker_id", "redis"}


def _prefix(cls: type[BaseSettings]) -> str:
    return str(cls.model_config.get("env_prefix", ""))


def _env_names(cls: type[BaseSettings]) -> set[str]:
    return {(_prefix(cls) + name).upper() for name in cls.model_fields if name != "redis"}


ALLOWED = {
    "api": _env_names(ApiSettings) | _env_names(RedisSettings) | _env_names(LogSettings) | DOWNWARD | PLUMBING,
    "worker": _env_names(WorkerSettings) | _env_names(RedisSettings) | _env_names(LogSettings) | DOWNWARD | PLUMBING,
}
ALLOWED["catalog"] = ALLOWED["worker"]


def _service_containers(docs: list[Doc]) -> list[tuple[str, str, Doc]]:
    """``(service, where, container)`` for every API, worker and catalog container."""
    out = []
    workloads = {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}
    for where, spec in pod_specs(docs):
        kind = component(workloads[where]) or ""
        if kind in ALLOWED:
            out += [(kind, where, c) for c in containers(spec)]
    return out


@pytest.mark.parametrize("values", SCENARIOS, ids=SCENARIO_IDS)
def test_trigger_lists_are_the_queue_cores_keys(values: Path) -> None:
    docs = render(values)
    scalers = [d for d in docs if d["kind"] in ("ScaledObject", "ScaledJob")]
    for scaler in scalers:
        spec = scaler["spec"]
        pod = spec["jobTargetRef"]["template"] if scaler["kind"] == "ScaledJob" else None
        if pod is None:
            name = spec["scaleTargetRef"]["name"]
            (target,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name]
            pod = target["spec"]["template"]
        queues = env_map(pod["spec"]["containers"][0])["WORKER_QUEUES"].split(",")
        expected = [k for q in queues for k in (*(QueueKeys(q).waiting(p) for p in PRIORITIES), QueueKeys(q).running)]
        assert [t["metadata"]["listName"] for t in spec["triggers"]] == expected


def test_some_scenario_renders_every_kind_of_scaler() -> None:
    kinds = {d["kind"] for v in SCENARIOS for d in render(v)}
    assert {"ScaledObject", "ScaledJob"} <= kinds


@pytest.mark.parametrize("values", SCENARIOS, ids=SCENARIO_IDS)
def test_every_variable_is_a_settings_field(values: Path) -> None:
    found = _service_containers(render(values))
    assert {kind for kind, _, _ in found} >= {"api", "worker"}
    for kind, where, container in found:
        for name in (e["name"] for e in container.get("env", [])):
            assert name in ALLOWED[kind] or name.startswith("OTEL_"), f"{where}: {name} is no setting of the {kind}"


def _environment(container: Doc) -> dict[str, str]:
    """The container's environment as the kubelet would build it, with stand-ins for Secrets and fields."""
    env: dict[str, str] = {}
    for entry in container.get("env", []):
        if "value" in entry:
            value = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), entry["value"])
        elif "secretKeyRef" in entry["valueFrom"]:
            value = "stand-in-secret-0123456789"
        else:
            value = "stand-in-" + entry["valueFrom"]["fieldRef"]["fieldPath"].split(".")[-1].lower()
        env[entry["name"]] = value
    return env


@pytest.mark.parametrize("values", SCENARIOS, ids=SCENARIO_IDS)
def test_the_settings_classes_accept_what_the_chart_renders(values: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for kind, where, container in _service_containers(render(values)):
        env = _environment(container)
        assert "$(" not in env["REDIS_URL"], where  # every reference was defined before REDIS_URL
        with monkeypatch.context() as m:
            for name, value in env.items():
                m.setenv(name, value)
            LogSettings()
            settings: Any = ApiSettings() if kind == "api" else WorkerSettings()
        assert settings.redis.redis_url == env["REDIS_URL"]
        if kind == "api":
            assert settings.host == "0.0.0.0"
        else:
            assert settings.queues == env["WORKER_QUEUES"].split(",")


def _schema_settings(*path: str) -> set[str]:
    node: Any = json.loads((CHART / "values.schema.json").read_text())
    for key in path:
        node = node["definitions"]["pool"] if key == "$pool" else node["properties"][key]
    return set(node["properties"])


def test_the_schema_leaves_to_the_user_exactly_the_fields_the_chart_does_not_set() -> None:
    assert _schema_settings("api", "settings") == set(ApiSettings.model_fields) - API_MANAGED
    assert _schema_settings("$pool", "settings") == set(WorkerSettings.model_fields) - WORKER_MANAGED
    # The chart sets Redis's address, credentials and whether it is a cluster from externalRedis / redis.
    chart_set = {"redis_url", "redis_username", "redis_password", "redis_cluster"}
    assert _schema_settings("redisClient") == set(RedisSettings.model_fields) - chart_set


def test_user_settings_reach_the_containers_as_their_variables() -> None:
    docs = render(*[SCENARIOS[SCENARIO_IDS.index(n)] for n in ("gpu-pools", "external-redis-tls")])
    envs = {where: env_map(c) for _, where, c in _service_containers(docs)}
    assert envs["Deployment/demo-stoker-api"]["API_SUBMIT_RATE"] == "50/s"
    assert envs["Deployment/demo-stoker-api"]["API_REAP_INTERVAL_S"] == "2.5"
    assert envs["Deployment/demo-stoker-api"]["REDIS_MAX_CONNECTIONS"] == "128"
    assert envs["Deployment/demo-stoker-worker-l4"]["WORKER_LEASE_S"] == "60"
