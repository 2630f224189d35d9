"""Fixtures of the chart tests: the KEDA and Prometheus Operator models (slow to import: once per session)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.keda.schemas import unknown_fields  # the one round-trip check, for the chart's CRD objects too

Validator = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="session")
def crd_models() -> dict[str, Any]:
    """Model classes by kind, from the KEDA 2.16 and Prometheus Operator 0.80 CRD schemas."""
    from cloudcoil.models.keda import v1alpha1 as keda
    from cloudcoil.models.prometheus_operator import v1 as pom

    return {
        "ScaledObject": keda.ScaledObject,
        "ScaledJob": keda.ScaledJob,
        "TriggerAuthentication": keda.TriggerAuthentication,
        "ServiceMonitor": pom.ServiceMonitor,
        "PodMonitor": pom.PodMonitor,
        "PrometheusRule": pom.PrometheusRule,
    }


def _milli_quantities(doc: Any) -> Any:
    """Whole-number resource quantities in milli form (``1`` -> ``1000m``), which mean the same.

    cloudcoil-models-keda 2.16.1.0 raises TypeError, not a validation error, on a quantity that parses as an
    integer (its integer branch carries a string pattern), so a ScaledJob with ``nvidia.com/gpu: 1`` cannot
    be checked as it is. Its pod template is checked unchanged by kubernetes-validate, as a Job, in
    test_validate.py.
    """
    if isinstance(doc, dict):
        out = {}
        for key, value in doc.items():
            if key in ("limits", "requests") and isinstance(value, dict):
                out[key] = {k: f"{int(v) * 1000}m" if str(v).isdigit() else v for k, v in value.items()}
            else:
                out[key] = _milli_quantities(value)
        return out
    if isinstance(doc, list):
        return [_milli_quantities(v) for v in doc]
    return doc


@pytest.fixture(scope="session")
def validate_crd(crd_models: dict[str, Any]) -> Validator:
    """Validates a custom resource: types and required fields by the model, unknown fields by a round trip."""

    def check(doc: dict[str, Any]) -> None:
        if doc["kind"] == "ScaledJob":
            doc = _milli_quantities(doc)
        model = crd_models[doc["kind"]].model_validate(doc)
        back = model.model_dump(mode="json", by_alias=True, exclude_none=True)
        if bad := unknown_fields(doc, back):
            raise ValueError(f"{doc['kind']}/{doc['metadata']['name']}: unknown fields {bad}")

    return check
