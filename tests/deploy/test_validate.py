"""Every scenario renders, and every built-in kind validates strictly against Kubernetes 1.30 and 1.37.

Pod templates inside ScaledJobs are checked as the Jobs KEDA creates from them, HPA behaviours inside
ScaledObjects as the HPA it creates, and HTTPRoutes against the fields of Gateway API v1 that the chart uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.deploy.chart import SCENARIO_IDS, SCENARIOS, Doc, of_kind, render

CRDS = {"ScaledObject", "ScaledJob", "TriggerAuthentication", "ServiceMonitor", "PodMonitor", "PrometheusRule"}
KUBERNETES = ["1.30.0", "1.37.0"]


def _embedded(doc: Doc) -> list[Doc]:
    """The built-in objects KEDA makes from a CRD: a Job per ScaledJob run, an HPA per ScaledObject."""
    name = {"name": doc["metadata"]["name"], "namespace": doc["metadata"]["namespace"]}
    spec = doc["spec"]
    if doc["kind"] == "ScaledJob":
        return [{"apiVersion": "batch/v1", "kind": "Job", "metadata": name, "spec": spec["jobTargetRef"]}]
    if doc["kind"] == "ScaledObject":
        hpa: dict[str, Any] = {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec["scaleTargetRef"]["name"]},
            "maxReplicas": spec["maxReplicaCount"],
        }
        if behavior := spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior"):
            hpa["behavior"] = behavior
        return [{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": name, "spec": hpa}]
    return []


@pytest.mark.parametrize("kube", KUBERNETES)
@pytest.mark.parametrize("values", SCENARIOS, ids=SCENARIO_IDS)
def test_every_builtin_kind_validates_strictly(values: Path, kube: str) -> None:
    docs = render(values)
    checked = 0
    for doc in docs:
        targets = _embedded(doc) if doc["kind"] in CRDS else [] if doc["kind"] == "HTTPRoute" else [doc]
        for target in targets:
            try:
                kubernetes_validate.validate(target, kube, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(
                    f"{target['kind']}/{target['metadata']['name']} against {kube}: {exc.message} at {exc.path}"
                )
            checked += 1
    assert checked >= 8


_NAME = {"type": "string", "minLength": 1, "maxLength": 253}
_DURATION = {"type": "string", "pattern": r"^([0-9]{1,5}(h|m|s|ms)){1,4}$"}
# The part of Gateway API v1's HTTPRoute schema (standard channel) that the chart renders.
HTTPROUTE_SPEC = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "parentRefs": {
            "type": "array",
            "minItems": 1,
            "maxItems": 32,
            "items": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "group": {"type": "string"},
                    "kind": {"type": "string"},
                    "namespace": _NAME,
                    "name": _NAME,
                    "sectionName": _NAME,
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                },
            },
        },
        "hostnames": {"type": "array", "maxItems": 16, "items": {"type": "string", "pattern": r"^(\*\.)?[a-z0-9]"}},
        "rules": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "matches": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "path": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]},
                                        "value": {"type": "string", "pattern": "^/"},
                                    },
                                }
                            },
                        },
                    },
                    "backendRefs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "additionalProperties": False,
                            "properties": {"name": _NAME, "port": {"type": "integer", "minimum": 1, "maximum": 65535}},
                        },
                    },
                    "timeouts": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"request": _DURATION, "backendRequest": _DURATION},
                    },
                },
            },
        },
    },
}


def test_the_httproute_fits_gateway_api_v1() -> None:
    (route,) = of_kind(render(Path(SCENARIOS[SCENARIO_IDS.index("ingress-httproute")])), "HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    jsonschema.validate(route["spec"], HTTPROUTE_SPEC)
    service = route["spec"]["rules"][0]["backendRefs"][0]
    assert service == {"name": "demo-stoker-api", "port": 80}


def test_a_misspelled_field_fails_the_httproute_schema() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"parentRefs": [{"name": "gw"}], "rule": []}, HTTPROUTE_SPEC)
