"""KEDA and Prometheus Operator objects of every scenario against their CRD models, unknown fields included."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from tests.deploy.chart import SCENARIO_IDS, SCENARIOS, of_kind, one, pool_name, render
from tests.deploy.conftest import Validator

KINDS = ("ScaledObject", "ScaledJob", "TriggerAuthentication", "ServiceMonitor", "PodMonitor", "PrometheusRule")


def _scenario(name: str) -> Path:
    return SCENARIOS[SCENARIO_IDS.index(name)]


@pytest.mark.parametrize("values", SCENARIOS, ids=SCENARIO_IDS)
def test_every_custom_resource_fits_its_model(values: Path, validate_crd: Validator) -> None:
    for doc in render(values):
        if doc["kind"] in KINDS:
            validate_crd(doc)


def test_the_scenarios_cover_every_custom_kind() -> None:
    seen = {doc["kind"] for values in SCENARIOS for doc in render(values)}
    assert set(KINDS) <= seen


def test_the_check_catches_a_misspelled_field(validate_crd: Validator) -> None:
    so = one(render(), "ScaledObject")
    so["spec"]["maxReplicas"] = 3  # HPA's spelling, not KEDA's
    with pytest.raises(ValueError, match=r"\.spec\.maxReplicas"):
        validate_crd(so)


def test_the_check_catches_an_int_in_trigger_metadata(validate_crd: Validator) -> None:
    so = one(render(), "ScaledObject")
    so["spec"]["triggers"][0]["metadata"]["listLength"] = 5
    with pytest.raises(pydantic.ValidationError):
        validate_crd(so)


def test_scaled_objects_sum_their_named_triggers_in_the_formula() -> None:
    for values in SCENARIOS:
        kind = "redis-cluster" if values.name.startswith("external-redis-cluster") else "redis"
        for so in of_kind(render(values), "ScaledObject"):
            names = [t["name"] for t in so["spec"]["triggers"]]
            modifiers = so["spec"]["advanced"]["scalingModifiers"]
            assert modifiers["formula"] == " + ".join(names)
            assert modifiers["metricType"] == "AverageValue"
            assert len(set(names)) == len(names)
            assert {t["type"] for t in so["spec"]["triggers"]} == {kind}


def test_trigger_authentication_carries_the_password_and_the_private_ca() -> None:
    docs = render(_scenario("external-redis-tls"))
    auth = one(docs, "TriggerAuthentication", pool_name("default"))
    refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]}
    assert refs["password"] == ("stoker-redis", "password")
    assert refs["ca"] == ("stoker-redis-ca", "ca.pem")
    tls_secret = one(docs, "Secret", refs["tls"][0])
    assert tls_secret["stringData"] == {"tls": "enable"}
    for trigger in one(docs, "ScaledObject")["spec"]["triggers"]:
        assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
        assert trigger["metadata"]["address"] == "redis.cache.example.internal:6380"
        assert trigger["metadata"]["databaseIndex"] == "2"
        assert "enableTLS" not in trigger["metadata"]  # not with a TriggerAuthentication's tls


def test_tls_with_the_system_cas_is_set_on_the_triggers() -> None:
    docs = render(_scenario("external-redis-tls-system-ca"))
    for trigger in one(docs, "ScaledObject")["spec"]["triggers"]:
        assert trigger["metadata"]["enableTLS"] == "true"
        assert trigger["metadata"]["unsafeSsl"] == "true"
    auth = one(docs, "TriggerAuthentication")
    assert [r["parameter"] for r in auth["spec"]["secretTargetRef"]] == ["password"]


def test_without_a_password_there_is_no_trigger_authentication() -> None:
    docs = render()
    assert of_kind(docs, "TriggerAuthentication") == []
    assert all("authenticationRef" not in t for t in one(docs, "ScaledObject")["spec"]["triggers"])
