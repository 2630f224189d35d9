"""``stoker dev`` reads the pools that ``helm install`` renders: the same queues, tasks, settings and
scaling, for every values scenario of the chart (the local profile included)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stoker_client.dev.values import DEV_VALUES, PoolSpec, ValuesError, load_values, merge, pools_of
from stoker_queue.keys import QueueKeys
from tests.deploy.chart import CHART, SCENARIO_IDS, SCENARIOS, Doc, containers, env_map, render

ROOT = Path(__file__).resolve().parents[2]
VALUES = CHART / "values.yaml"


def _rendered_pools(docs: list[Doc]) -> dict[str, Doc]:
    return {
        d["metadata"]["labels"]["stoker.dev/pool"]: d
        for d in docs
        if d["kind"] in ("Deployment", "ScaledJob") and "stoker.dev/pool" in d["metadata"].get("labels", {})
    }


def _worker_env(workload: Doc) -> dict[str, str]:
    spec = workload["spec"]["jobTargetRef" if workload["kind"] == "ScaledJob" else "template"]
    pod = spec["template"]["spec"] if workload["kind"] == "ScaledJob" else spec["spec"]
    (worker,) = [c for c in containers(pod) if c["name"] == "worker"]
    return env_map(worker)


def _scaler(docs: list[Doc], workload: Doc) -> Doc | None:
    kind = "ScaledJob" if workload["kind"] == "ScaledJob" else "ScaledObject"
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == workload["metadata"]["name"]]
    return found[0] if found else None


def _check_scaling(pool: PoolSpec, scaler: Doc) -> None:
    s, spec = pool.scaling, scaler["spec"]
    assert s is not None
    assert (s.max_replicas, s.polling_interval_s) == (spec["maxReplicaCount"], spec["pollingInterval"])
    keys = [QueueKeys(q) for q in pool.queues]
    assert [t["metadata"]["listName"] for t in spec["triggers"]] == [
        name for k in keys for name in (*k.waiting_all, k.running)
    ], "the local metric sums the lists KEDA reads"
    if scaler["kind"] == "ScaledJob":
        assert {t["metadata"]["listLength"] for t in spec["triggers"]} == {str(s.target_per_replica)}
        return
    modifiers = spec["advanced"]["scalingModifiers"]
    assert (s.min_replicas, s.cooldown_s) == (spec["minReplicaCount"], spec["cooldownPeriod"])
    assert (str(s.target_per_replica), str(int(s.activation_target))) == (
        modifiers["target"],
        modifiers["activationTarget"],
    )
    assert s.behavior == spec["advanced"].get("horizontalPodAutoscalerConfig", {}).get("behavior", {})


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_the_pools_are_the_ones_helm_renders(scenario: Path) -> None:
    docs = render(scenario)
    rendered = _rendered_pools(docs)
    pools = pools_of(load_values([VALUES, scenario]))
    assert sorted(p.name for p in pools) == sorted(rendered)
    for pool in pools:
        workload = rendered[pool.name]
        assert workload["kind"] == ("ScaledJob" if pool.mode == "job" else "Deployment")
        env = _worker_env(workload)
        local = pool.worker_env()
        del local["WORKER_POD_DELETION_COST"]  # no pods to annotate here
        assert {k: env.get(k) for k in local} == local, pool.name
        scaler = _scaler(docs, workload)
        if pool.scaling is None:
            assert scaler is None and workload["spec"]["replicas"] == pool.replicas
        else:
            assert scaler is not None
            _check_scaling(pool, scaler)


def test_make_run_serves_every_built_in_task_on_its_queue() -> None:
    (pool,) = pools_of(load_values([VALUES, ROOT / DEV_VALUES]))
    assert set(pool.tasks) == {f"stoker_worker.tasks.{t}" for t in ("echo", "embed", "burn")}
    assert set(pool.queues) == {"default", "embed", "burn"}
    assert pool.scaling is not None and pool.scaling.min_replicas >= 1  # a first job runs at once


def test_merge_overrides_with_false_and_zero_and_replaces_lists() -> None:
    base: dict[str, Any] = {"keda": {"enabled": True, "minReplicaCount": 1, "maxReplicaCount": 5}, "queues": ["a", "b"]}
    over: dict[str, Any] = {"keda": {"enabled": False, "minReplicaCount": 0}, "queues": ["c"]}
    assert merge(base, over) == {
        "keda": {"enabled": False, "minReplicaCount": 0, "maxReplicaCount": 5},
        "queues": ["c"],
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("workers: {pools: [{name: a}, {name: a}]}", "used twice"),
        ("workers: {pools: [{queues: [x]}]}", "needs a name"),
        ("workers: {pools: [{name: a, mode: cron}]}", "mode must be"),
        ("workers: {pools: [{name: a, mode: job, keda: {enabled: false}}]}", "needs keda.enabled"),
        ("workers: {pools: [{name: a, enabled: false}]}", "no enabled pool"),
        ("workers: {pools: [{name: a, concurrency: many}]}", "workers.pools[a]"),
        ("[1, 2]", "map of values"),
        ("workers: {pools: [", "is not YAML"),
    ],
)
def test_bad_values_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(text)
    with pytest.raises(ValuesError, match=message.replace("[", r"\[")):
        pools_of(load_values([path]))


def test_a_missing_values_file_names_itself(tmp_path: Path) -> None:
    with pytest.raises(ValuesError, match=r"cannot read .*nowhere\.yaml"):
        load_values([tmp_path / "nowhere.yaml"])
