"""keda/examples: every object is valid for KEDA 2.16 / Kubernetes 1.30, and the triggers read the
queue core's own keys for queue ``gpu-large``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from stoker_queue.keys import QueueKeys
from stoker_queue.status import PRIORITIES
from tests.keda.schemas import is_crd_kind, load_all, validate_manifest

ROOT = Path(__file__).resolve().parents[2]
KEDA = ROOT / "keda"
EXAMPLES = sorted((KEDA / "examples").glob("*.yaml"))
QUEUE = QueueKeys("gpu-large")
# Waiting lists in claim order, then the in-flight list: what a pool for the queue scales on.
QUEUE_LISTS = [*(QUEUE.waiting(p) for p in PRIORITIES), QUEUE.running]


def _docs(name: str) -> list[dict[str, Any]]:
    return load_all((KEDA / "examples" / name).read_text())


def _one(name: str, kind: str) -> dict[str, Any]:
    (doc,) = [d for d in _docs(name) if d["kind"] == kind]
    return doc


ALL_DOCS = [(path.name, doc) for path in EXAMPLES for doc in load_all(path.read_text())]


def test_the_examples_are_there() -> None:
    assert [p.name for p in EXAMPLES] == ["scaledjob.yaml", "scaledobject.yaml", "triggerauthentication.yaml"]


ALL_IDS = [f"{name}:{doc['kind']}/{doc['metadata']['name']}" for name, doc in ALL_DOCS]


@pytest.mark.parametrize(("name", "doc"), ALL_DOCS, ids=ALL_IDS)
def test_every_object_validates_strictly(name: str, doc: dict[str, Any]) -> None:
    validate_manifest(doc)


def test_crd_kinds_and_plain_kinds_are_both_checked() -> None:
    kinds = {doc["kind"]: is_crd_kind(doc) for _, doc in ALL_DOCS}
    assert kinds == {
        "ScaledJob": True,
        "ScaledObject": True,
        "TriggerAuthentication": True,
        "Deployment": False,
        "Job": False,
    }


def test_an_unknown_field_is_caught() -> None:
    doc = _one("scaledobject.yaml", "ScaledObject")
    doc["spec"]["maxReplicas"] = 3  # the HPA's spelling, not KEDA's
    with pytest.raises(ValueError, match=r"\.spec\.maxReplicas"):
        validate_manifest(doc)


def test_an_unknown_field_in_a_scaledjob_pod_is_caught() -> None:
    doc = _one("scaledjob.yaml", "ScaledJob")
    doc["spec"]["jobTargetRef"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    with pytest.raises(ValueError, match=r"resourcez"):
        validate_manifest(doc)


def _triggers(kind: str, name: str) -> list[dict[str, Any]]:
    return list(_one(name, kind)["spec"]["triggers"])


@pytest.mark.parametrize(("kind", "name"), [("ScaledObject", "scaledobject.yaml"), ("ScaledJob", "scaledjob.yaml")])
def test_triggers_read_the_queue_core_keys(kind: str, name: str) -> None:
    triggers = _triggers(kind, name)
    assert [t["type"] for t in triggers] == ["redis"] * len(QUEUE_LISTS)
    assert [t["metadata"]["listName"] for t in triggers] == QUEUE_LISTS
    # Every trigger authenticates through the example TriggerAuthentication.
    auth = _one("triggerauthentication.yaml", "TriggerAuthentication")["metadata"]["name"]
    assert {t["authenticationRef"]["name"] for t in triggers} == {auth}


def test_the_formula_sums_every_trigger_once() -> None:
    spec = _one("scaledobject.yaml", "ScaledObject")["spec"]
    names = [t["name"] for t in spec["triggers"]]
    assert len(set(names)) == len(names)
    modifiers = spec["advanced"]["scalingModifiers"]
    terms = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", modifiers["formula"])
    assert sorted(terms) == sorted(names), "the formula must name each trigger exactly once"
    assert re.fullmatch(r"\s*\w+(\s*\+\s*\w+)*\s*", modifiers["formula"]), "waiting + in flight: a plain sum"
    assert modifiers["metricType"] == "AverageValue"
    assert int(modifiers["target"]) >= 1
    assert modifiers["activationTarget"] == "0"


def test_the_scaledobject_targets_the_pool_and_scales_from_zero() -> None:
    deployment = _one("scaledobject.yaml", "Deployment")
    spec = _one("scaledobject.yaml", "ScaledObject")["spec"]
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"]}
    assert spec["scaleTargetRef"] == target
    assert spec["minReplicaCount"] == 0
    assert spec["maxReplicaCount"] >= 1
    assert spec["cooldownPeriod"] > 0
    assert spec["fallback"]["replicas"] >= 1
    assert {"scaleUp", "scaleDown"} <= spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"].keys()
    assert "replicas" not in deployment["spec"], "KEDA owns the replica count"


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container["env"]}


def test_the_per_pod_target_is_the_worker_concurrency() -> None:
    (worker,) = _one("scaledobject.yaml", "Deployment")["spec"]["template"]["spec"]["containers"]
    target = _one("scaledobject.yaml", "ScaledObject")["spec"]["advanced"]["scalingModifiers"]["target"]
    assert _env(worker)["WORKER_CONCURRENCY"] == target


def test_the_grace_period_outlasts_the_drain_budget() -> None:
    for kind, name in [("Deployment", "scaledobject.yaml"), ("ScaledJob", "scaledjob.yaml")]:
        doc = _one(name, kind)
        template = doc["spec"]["template"] if kind == "Deployment" else doc["spec"]["jobTargetRef"]["template"]
        pod = template["spec"]
        (worker,) = pod["containers"]
        assert pod["terminationGracePeriodSeconds"] > float(_env(worker)["WORKER_DRAIN_S"]), f"{kind}/{name}"


def test_the_scaledjob_runs_burst_workers_and_sums_its_triggers() -> None:
    spec = _one("scaledjob.yaml", "ScaledJob")["spec"]
    assert spec["scalingStrategy"]["multipleScalersCalculation"] == "sum"
    (worker,) = spec["jobTargetRef"]["template"]["spec"]["containers"]
    assert "--burst" in worker["args"]
    assert worker["args"][worker["args"].index("--queues") + 1] == QUEUE.name
    assert spec["jobTargetRef"]["template"]["spec"]["restartPolicy"] == "Never"


def test_the_worker_flags_and_settings_exist() -> None:
    from stoker_worker.__main__ import _parse_args
    from stoker_worker.settings import WorkerSettings

    fields = {f"WORKER_{f}".upper() for f in WorkerSettings.model_fields} | {"POD_NAME", "POD_NAMESPACE", "NODE_NAME"}
    fields |= {"REDIS_URL", "REDIS_PASSWORD"}  # RedisSettings, and the password the URL is built from
    workloads = [("scaledobject.yaml", "Deployment"), ("scaledobject.yaml", "Job"), ("scaledjob.yaml", "ScaledJob")]
    for name, kind in workloads:
        doc = _one(name, kind)
        template = doc["spec"]["jobTargetRef"]["template"] if kind == "ScaledJob" else doc["spec"]["template"]
        (container,) = template["spec"]["containers"]
        _parse_args(container["args"])  # argparse exits on an unknown flag
        assert set(_env(container)) <= fields, f"{kind}/{doc['metadata']['name']}"


def test_both_pools_ship_the_same_catalog_job() -> None:
    assert _one("scaledobject.yaml", "Job") == _one("scaledjob.yaml", "Job")


def test_the_catalog_job_publishes_the_pool_tasks() -> None:
    job = _one("scaledobject.yaml", "Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    (worker,) = _one("scaledobject.yaml", "Deployment")["spec"]["template"]["spec"]["containers"]
    assert "--publish-catalog" in container["args"]
    assert _env(container)["WORKER_TASKS"] == _env(worker)["WORKER_TASKS"]


def test_the_scaledobject_name_is_seen_by_the_scaler_error_alert() -> None:
    rules = yaml.safe_load((ROOT / "monitoring" / "rules" / "stoker.rules.yaml").read_text())
    (alert,) = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "StokerKedaScalerErrors"]
    patterns = set(re.findall(r'scaledObject=~"([^"]+)"', alert["expr"]))
    assert patterns
    name = _one("scaledobject.yaml", "ScaledObject")["metadata"]["name"]
    assert all(re.fullmatch(p, name) for p in patterns)


def test_the_readme_pins_the_keda_chart_of_the_models() -> None:
    from importlib.metadata import version

    readme = (KEDA / "README.md").read_text()
    pins = set(re.findall(r"helm (?:install|upgrade) keda kedacore/keda --version (\S+)", readme))
    models = version("cloudcoil.models.keda")  # 2.16.1.0: the KEDA release, then the models' own revision
    assert pins == {models.rsplit(".", 1)[0]}
    assert "-f keda/values.yaml" in readme


def test_the_values_override_what_the_alert_needs() -> None:
    values = yaml.safe_load((KEDA / "values.yaml").read_text())
    assert values["prometheus"]["operator"]["enabled"] is True
    assert values["prometheus"]["metricServer"]["enabled"] is True


def test_the_readme_names_the_example_objects() -> None:
    readme = (KEDA / "README.md").read_text()
    names = {(d["kind"].lower(), d["metadata"]["name"]) for _, d in ALL_DOCS}
    mentioned = set(re.findall(r"\b(scaledobject|scaledjob|deployment)[/ ]([a-z0-9-]*stoker[a-z0-9-]*)", readme))
    assert mentioned and mentioned <= names, sorted(mentioned - names)
    secret = re.search(r"create secret generic (\S+) --from-literal=([\w-]+)=", readme)
    assert secret is not None
    auth = _one("triggerauthentication.yaml", "TriggerAuthentication")["spec"]["secretTargetRef"]
    assert {(r["name"], r["key"]) for r in auth} == {(secret[1], secret[2])}
