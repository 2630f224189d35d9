"""templates/worker/: pool Deployments, ScaledObjects, ScaledJobs, catalog Jobs, RBAC; disabled, defaults, overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.deploy.chart import (
    SCENARIO_IDS,
    SCENARIOS,
    Doc,
    env_map,
    of_kind,
    one,
    pool_name,
    render,
    render_upgrade,
    render_yaml,
)
from tests.deploy.fake_apiserver import FakeApiServer


def _scenario(name: str) -> Path:
    return SCENARIOS[SCENARIO_IDS.index(name)]


def _pod(docs: list[Doc], pool: str) -> dict[str, Any]:
    spec: dict[str, Any] = one(docs, "Deployment", pool_name(pool))["spec"]["template"]["spec"]
    return spec


def test_defaults_one_gpu_pool_scaled_from_zero() -> None:
    docs = render()
    deployment = one(docs, "Deployment", pool_name("default"))["spec"]
    assert deployment["replicas"] == 0  # a fresh pool sleeps until its first job, not at the default of 1
    assert deployment["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert deployment["progressDeadlineSeconds"] == 900
    pod = deployment["template"]["spec"]
    (container,) = pod["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    env = env_map(container)
    assert env["WORKER_DRAIN_S"] == "25"
    assert pod["terminationGracePeriodSeconds"] == 40 > int(env["WORKER_DRAIN_S"])
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] == 600 < deployment["progressDeadlineSeconds"]
    assert env["WORKER_QUEUES"] == "default,embed,burn"
    assert env["WORKER_POD_DELETION_COST"] == "true"
    assert [e["name"] for e in container["env"] if "fieldRef" in e.get("valueFrom", {})] == [
        "POD_NAME",
        "POD_NAMESPACE",
        "NODE_NAME",
    ]
    so = one(docs, "ScaledObject", pool_name("default"))["spec"]
    assert (so["minReplicaCount"], so["maxReplicaCount"], so["pollingInterval"], so["cooldownPeriod"]) == (
        0,
        10,
        15,
        300,
    )
    assert so["fallback"] == {"failureThreshold": 3, "replicas": 1}
    assert so["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert len(so["triggers"]) == 12  # three queues, three waiting lists and one in-flight list each


def test_rbac_lets_workers_patch_pods_only() -> None:
    docs = render()
    role = one(docs, "Role", "demo-stoker-worker")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "patch"]}]
    binding = one(docs, "RoleBinding", "demo-stoker-worker")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "demo-stoker-worker", "namespace": "stoker"}]
    assert _pod(docs, "default")["serviceAccountName"] == "demo-stoker-worker"


def test_keda_off_is_a_plain_deployment_with_replicas() -> None:
    docs = render(_scenario("keda-off"))
    assert one(docs, "Deployment", pool_name("fixed"))["spec"]["replicas"] == 3
    for kind in ("ScaledObject", "ScaledJob", "TriggerAuthentication", "Role", "RoleBinding"):
        assert of_kind(docs, kind) == [], kind
    assert of_kind(docs, "Job") == []  # catalogJob disabled
    pod = _pod(docs, "fixed")
    assert pod["automountServiceAccountToken"] is False
    assert env_map(pod["containers"][0])["WORKER_POD_DELETION_COST"] == "false"
    assert "tolerations" not in pod and "nvidia.com/gpu" not in str(pod["containers"][0].get("resources"))


def test_gpu_pools_take_their_own_resource_nodes_and_rollout() -> None:
    docs = render(_scenario("gpu-pools"))
    a100, l4, mig = (_pod(docs, p) for p in ("a100", "l4", "mig"))
    assert a100["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-tesla-a100"}
    assert [t["key"] for t in a100["tolerations"]] == ["nvidia.com/gpu", "cloud.google.com/gke-spot"]
    assert a100["terminationGracePeriodSeconds"] == 135
    assert "karpenter.k8s.aws/instance-gpu-name" in str(l4["affinity"])
    assert env_map(l4["containers"][0])["WORKER_LEASE_S"] == "60"
    assert mig["containers"][0]["resources"]["limits"] == {"memory": "16Gi", "nvidia.com/mig-1g.10gb": 1}
    assert mig["tolerations"][0]["key"] == "nvidia.com/mig-1g.10gb"
    assert (mig["runtimeClassName"], mig["priorityClassName"]) == ("nvidia", "gpu-batch")
    assert one(docs, "Deployment", pool_name("mig"))["spec"]["strategy"]["rollingUpdate"] == {
        "maxSurge": 1,
        "maxUnavailable": 0,
    }
    shm = [v for v in a100["volumes"] if v["name"] == "shm"]
    assert shm == [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}}]
    l4_so = one(docs, "ScaledObject", pool_name("l4"))["spec"]
    assert l4_so["advanced"]["scalingModifiers"]["target"] == "8"
    assert l4_so["advanced"]["scalingModifiers"]["activationTarget"] == "2"
    assert "fallback" not in one(docs, "ScaledObject", pool_name("a100"))["spec"]


def test_a_job_pool_is_a_scaledjob_of_burst_workers() -> None:
    docs = render(_scenario("scaledjob"))
    assert [d["metadata"]["name"] for d in of_kind(docs, "Deployment") if "worker" in d["metadata"]["name"]] == [
        pool_name("online")
    ]
    sj = one(docs, "ScaledJob", pool_name("batch"))["spec"]
    job = sj["jobTargetRef"]
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["containers"][0]["args"] == ["--burst", "--max-jobs", "20"]
    assert (job["backoffLimit"], job["activeDeadlineSeconds"]) == (1, 86400)
    assert sj["scalingStrategy"] == {"strategy": "default", "multipleScalersCalculation": "sum"}
    assert sj["rollout"] == {"strategy": "gradual"}
    assert len(sj["triggers"]) == 8 and {t["metadata"]["listLength"] for t in sj["triggers"]} == {"2"}
    assert env_map(pod["containers"][0])["WORKER_POD_DELETION_COST"] == "false"
    assert pod["automountServiceAccountToken"] is False


def test_a_disabled_pool_renders_nothing(tmp_path: Path) -> None:
    docs = render_yaml({"workers": {"pools": [{"name": "on"}, {"name": "off", "enabled": False}]}}, tmp_path)
    names = {d["metadata"]["name"] for d in docs}
    assert pool_name("on") in names
    assert not any(n.startswith(pool_name("off")) for n in names)


def test_defaults_merge_key_by_key_and_false_overrides_true(tmp_path: Path) -> None:
    overrides = {
        "workers": {
            "defaults": {"nodeSelector": {"pool": "gpu"}, "keda": {"maxReplicaCount": 7}},
            "pools": [{"name": "p", "podDeletionCost": False, "keda": {"fallback": {"enabled": False}}}],
        }
    }
    docs = render_yaml(overrides, tmp_path)
    so = one(docs, "ScaledObject", pool_name("p"))["spec"]
    assert so["maxReplicaCount"] == 7 and "fallback" not in so and so["minReplicaCount"] == 0
    pod = _pod(docs, "p")
    assert pod["nodeSelector"] == {"pool": "gpu"}
    assert env_map(pod["containers"][0])["WORKER_POD_DELETION_COST"] == "false"


def test_the_catalog_job_publishes_every_pools_tasks() -> None:
    docs = render(_scenario("gpu-pools"))
    jobs = {j["metadata"]["labels"]["stoker.dev/pool"]: j for j in of_kind(docs, "Job")}
    assert set(jobs) == {"a100", "l4", "mig"}
    container = jobs["a100"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/acme-worker:2.0.1"  # the pool's image holds its task modules
    assert env_map(container)["WORKER_TASKS"] == "stoker_worker.tasks.burn"
    assert "nodeSelector" not in jobs["a100"]["spec"]["template"]["spec"]  # no GPU needed to publish


def test_a_keda_pool_starts_at_min_replicas_and_an_upgrade_keeps_the_live_count(tmp_path: Path) -> None:
    installed = render_yaml({"workers": {"pools": [{"name": "default", "keda": {"minReplicaCount": 1}}]}}, tmp_path)
    assert one(installed, "Deployment", pool_name("default"))["spec"]["replicas"] == 1
    live = one(render(), "Deployment", pool_name("default"))
    live["spec"]["replicas"] = 3  # what KEDA's HPA set meanwhile
    with FakeApiServer([live]) as cluster:
        upgraded = render_upgrade(cluster.kubeconfig(tmp_path))
    assert one(upgraded, "Deployment", pool_name("default"))["spec"]["replicas"] == 3
