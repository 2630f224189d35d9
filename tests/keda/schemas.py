"""Offline schema checks for manifests: plain kinds with kubernetes-validate (strict), CRD kinds with
the cloudcoil models plus a round trip that catches fields the models would silently drop.

Shared by the KEDA example tests and the k8s/ sync tests.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

KUBE_VERSION = "1.30.0"
Manifest = dict[str, Any]


@functools.cache
def crd_models() -> dict[tuple[str, str], Callable[[Manifest], Any]]:
    """(apiVersion, kind) -> ``model_validate`` of the CRD kinds Stoker's manifests use.

    Imported on first use: building the pydantic models takes seconds.
    """
    from cloudcoil.models.keda import v1alpha1 as keda
    from cloudcoil.models.prometheus_operator import v1 as pom

    models: dict[tuple[str, str], Any] = {
        ("keda.sh/v1alpha1", "ScaledObject"): keda.ScaledObject,
        ("keda.sh/v1alpha1", "ScaledJob"): keda.ScaledJob,
        ("keda.sh/v1alpha1", "TriggerAuthentication"): keda.TriggerAuthentication,
        ("monitoring.coreos.com/v1", "ServiceMonitor"): pom.ServiceMonitor,
        ("monitoring.coreos.com/v1", "PodMonitor"): pom.PodMonitor,
        ("monitoring.coreos.com/v1", "PrometheusRule"): pom.PrometheusRule,
    }
    return {key: model.model_validate for key, model in models.items()}


def unknown_fields(given: Any, kept: Any, path: str = "") -> list[str]:
    """Paths present in ``given`` but missing from ``kept`` (what a model dropped on the way through)."""
    out: list[str] = []
    if isinstance(given, dict):
        for key, value in given.items():
            if not isinstance(kept, dict) or key not in kept:
                out.append(f"{path}.{key}")
            else:
                out += unknown_fields(value, kept[key], f"{path}.{key}")
    elif isinstance(given, list) and isinstance(kept, list):
        if len(given) != len(kept):
            out.append(f"{path} (length {len(given)} became {len(kept)})")
        for i, (a, b) in enumerate(zip(given, kept, strict=False)):
            out += unknown_fields(a, b, f"{path}[{i}]")
    return out


def _model_quantity(value: Any) -> Any:
    # Whole numbers ("4", 1) trip the models' quantity type (an int/str union that rejects both), so the
    # model sees the same amount in milli-units; kubernetes-validate checks the values as written.
    if isinstance(value, bool):
        return value
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return f"{int(value) * 1000}m"
    if isinstance(value, float):
        return f"{round(value * 1000)}m"
    return value


def _for_models(node: Any) -> Any:
    """The manifest as the models can read it: resource quantities rewritten by ``_model_quantity``."""
    if isinstance(node, dict):
        return {
            k: {q: _model_quantity(v) for q, v in val.items()}
            if k in ("limits", "requests") and isinstance(val, dict)
            else _for_models(val)
            for k, val in node.items()
        }
    if isinstance(node, list):
        return [_for_models(v) for v in node]
    return node


def validate_crd(doc: Manifest, kube_version: str = KUBE_VERSION) -> None:
    """Raise on a wrong type, a missing required field or an unknown field of a CRD kind.

    A ScaledJob's ``jobTargetRef`` is a batch/v1 JobSpec: it is checked as one by kubernetes-validate too.
    """
    validate = crd_models()[(doc["apiVersion"], doc["kind"])]
    given = _for_models(doc)
    back = validate(given).model_dump(mode="json", by_alias=True, exclude_none=True)
    if bad := unknown_fields(given, back):
        raise ValueError(f"{doc['kind']}/{doc['metadata']['name']}: fields the schema does not know: {bad}")
    if doc["kind"] == "ScaledJob":
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": doc["metadata"]["name"]}}
        kubernetes_validate.validate({**job, "spec": doc["spec"]["jobTargetRef"]}, kube_version, strict=True)


def is_crd_kind(doc: Manifest) -> bool:
    return (doc.get("apiVersion"), doc.get("kind")) in crd_models()


def validate_manifest(doc: Manifest, kube_version: str = KUBE_VERSION) -> None:
    """Strict validation of one object: the CRD models for CRD kinds, kubernetes-validate for the rest.

    A kind that neither knows fails: an unchecked object is not a validated one.
    """
    if is_crd_kind(doc):
        validate_crd(doc, kube_version)
    else:
        kubernetes_validate.validate(doc, kube_version, strict=True)


def load_all(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def load_files(paths: Iterable[Path]) -> list[Manifest]:
    return [doc for path in paths for doc in load_all(path.read_text())]
