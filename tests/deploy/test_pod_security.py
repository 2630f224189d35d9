"""The restricted Pod Security Standard, checked on every pod of every scenario, plus a read-only root.

The checks follow https://kubernetes.io/docs/concepts/security/pod-security-standards/ (baseline and
restricted), field by field.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import SCENARIO_IDS, SCENARIOS, containers, pod_specs, render

RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim"}
RESTRICTED_VOLUMES |= {"projected", "secret"}
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start"}
SAFE_SYSCTLS |= {"net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports"}
SAFE_SYSCTLS |= {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl"}
SAFE_SYSCTLS |= {"net.ipv4.tcp_keepalive_probes"}
SELINUX_TYPES = {None, "", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def restricted_violations(spec: dict[str, Any]) -> list[str]:
    """What in one pod spec breaks the restricted profile (empty when it complies)."""
    bad = _pod_violations(spec)
    for c in containers(spec):
        bad += [f"container {c['name']}: {problem}" for problem in _container_violations(c, spec)]
    return bad


def _pod_violations(spec: dict[str, Any]) -> list[str]:
    bad = [field for field in ("hostNetwork", "hostPID", "hostIPC") if spec.get(field)]
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            bad.append(f"volume {volume['name']}: {sorted(kinds - RESTRICTED_VOLUMES)}")
    pod_sc = spec.get("securityContext", {})
    bad += [f"sysctl {s['name']}" for s in pod_sc.get("sysctls", []) if s["name"] not in SAFE_SYSCTLS]
    if pod_sc.get("runAsUser") == 0:
        bad.append("pod runAsUser 0")
    return bad


def _container_violations(c: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    sc = c.get("securityContext", {})
    merged = {**spec.get("securityContext", {}), **sc}  # the container's fields win over the pod's
    caps = sc.get("capabilities", {})
    selinux = merged.get("seLinuxOptions", {})
    checks = {
        "privileged": bool(sc.get("privileged")),
        "allowPrivilegeEscalation must be false": sc.get("allowPrivilegeEscalation") is not False,
        "runAsNonRoot must be true": merged.get("runAsNonRoot") is not True,
        "runAsUser 0": merged.get("runAsUser") == 0,
        "seccompProfile must be RuntimeDefault or Localhost": merged.get("seccompProfile", {}).get("type")
        not in ("RuntimeDefault", "Localhost"),
        "capabilities must drop ALL": "ALL" not in caps.get("drop", []),
        f"adds capabilities {caps.get('add')}": bool(set(caps.get("add", [])) - {"NET_BIND_SERVICE"}),
        "hostPort": any(p.get("hostPort") for p in c.get("ports", [])),
        "procMount": sc.get("procMount", "Default") != "Default",
        "hostProcess": bool(sc.get("windowsOptions", {}).get("hostProcess")),
        "seLinuxOptions": selinux.get("type") not in SELINUX_TYPES or bool(selinux.get("user") or selinux.get("role")),
        "appArmorProfile": merged.get("appArmorProfile", {}).get("type", "RuntimeDefault")
        not in ("RuntimeDefault", "Localhost"),
    }
    return [problem for problem, broken in checks.items() if broken]


def writable_root_violations(spec: dict[str, Any]) -> list[str]:
    """Our own rule on top: a read-only root filesystem, with /tmp on an emptyDir."""
    bad = []
    empty_dirs = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    for c in containers(spec):
        if c.get("securityContext", {}).get("readOnlyRootFilesystem") is not True:
            bad.append(f"container {c['name']}: readOnlyRootFilesystem must be true")
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        if mounts.get("/tmp") not in empty_dirs:
            bad.append(f"container {c['name']}: /tmp must be an emptyDir")
    return bad


@pytest.mark.parametrize("values", SCENARIOS, ids=SCENARIO_IDS)
def test_every_pod_is_restricted(values: Path) -> None:
    specs = list(pod_specs(render(values)))
    assert len(specs) >= 3  # the API, at least one worker pool, the test pod
    problems = {where: restricted_violations(spec) + writable_root_violations(spec) for where, spec in specs}
    assert {w: p for w, p in problems.items() if p} == {}


def test_only_workers_that_patch_their_pod_mount_a_token() -> None:
    for values in SCENARIOS:
        for where, spec in pod_specs(render(values)):
            mounted = spec.get("automountServiceAccountToken")
            assert mounted is not None, where
            patches = {e["name"]: e.get("value") for e in spec["containers"][0].get("env", [])}
            assert mounted == (patches.get("WORKER_POD_DELETION_COST") == "true"), where


@pytest.mark.parametrize(
    ("breach", "expected"),
    [
        (lambda s: s.update(hostNetwork=True), "hostNetwork"),
        (lambda s: s["volumes"].append({"name": "h", "hostPath": {"path": "/"}}), "hostPath"),
        (lambda s: s["containers"][0]["securityContext"].update(allowPrivilegeEscalation=True), "allowPrivilege"),
        (lambda s: s["containers"][0]["securityContext"]["capabilities"].update(add=["SYS_ADMIN"]), "adds"),
        (lambda s: s["containers"][0]["securityContext"].update(capabilities={}), "drop ALL"),
        (lambda s: s["containers"][0]["securityContext"].update(runAsUser=0), "runAsUser 0"),
        (lambda s: s["containers"][0]["securityContext"].update(seccompProfile={"type": "Unconfined"}), "seccomp"),
        (lambda s: s["containers"][0]["securityContext"].update(privileged=True), "privileged"),
        (lambda s: s["containers"][0]["ports"].append({"containerPort": 1, "hostPort": 1}), "hostPort"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_the_checks_catch_a_breach(breach: Any, expected: str) -> None:
    (spec,) = [s for where, s in pod_specs(render()) if where.startswith("Deployment/") and "worker" in where]
    assert restricted_violations(spec) == []
    broken = copy.deepcopy(spec)
    breach(broken)
    assert any(expected in problem for problem in restricted_violations(broken))
