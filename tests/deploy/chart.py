"""Rendering charts/stoker with the real ``helm`` binary, and walking what it renders."""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "stoker"
SCENARIOS = sorted((CHART / "ci").glob("*-values.yaml"))
SCENARIO_IDS = [p.name.removesuffix("-values.yaml") for p in SCENARIOS]
RELEASE = "demo"
NAMESPACE = "stoker"

Doc = dict[str, Any]


def helm() -> str:
    return require_tool("helm", "scripts/install-k8s-tools.sh")


def _flags(values: Sequence[Path | str], sets: Sequence[str]) -> list[str]:
    flags: list[str] = []
    for v in values:
        flags += ["-f", str(v)]
    for s in sets:
        flags += ["--set", s]
    return flags


@functools.cache
def _render_cached(binary: str, values: tuple[str, ...], sets: tuple[str, ...], kube: str) -> tuple[Doc, ...]:
    args = [binary, "template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", kube]
    proc = subprocess.run(args + _flags(values, sets), capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise RenderError(proc.stderr)
    return tuple(d for d in yaml.safe_load_all(proc.stdout) if d)


class RenderError(RuntimeError):
    """``helm template`` refused the values (schema, ``fail`` or ``required``)."""


def render(*values: Path | str, sets: Sequence[str] = (), kube: str = "1.30.0") -> list[Doc]:
    """Every document ``helm template`` renders (tests included) for these values files and ``--set``s."""
    return list(_render_cached(helm(), tuple(str(v) for v in values), tuple(sets), kube))


def render_upgrade(kubeconfig: Path, *values: Path | str, sets: Sequence[str] = ()) -> list[Doc]:
    """Render as an upgrade would: ``lookup`` reads the cluster that ``kubeconfig`` points at."""
    args = [helm(), "template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=server"]
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    proc = subprocess.run(args + _flags(values, sets), capture_output=True, text=True, timeout=60, check=False, env=env)
    if proc.returncode != 0:
        raise RenderError(proc.stderr)
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def render_yaml(overrides: dict[str, Any], tmp_path: Path, *, kube: str = "1.30.0") -> list[Doc]:
    """Render with ``overrides`` written to a values file."""
    text = yaml.safe_dump(overrides)
    path = tmp_path / f"values-{hashlib.sha256(text.encode()).hexdigest()[:12]}.yaml"
    path.write_text(text)
    return render(path, kube=kube)


def lint(*values: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [helm(), "lint", "--strict", str(CHART), *_flags(values, ())],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def of_kind(docs: Sequence[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: Sequence[Doc], kind: str, name: str | None = None) -> Doc:
    """The single document of ``kind`` (named ``name`` when given)."""
    found = [d for d in of_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} named {name}: {[d['metadata']['name'] for d in of_kind(docs, kind)]}"
    return found[0]


def pool_name(pool: str) -> str:
    """The name of a pool's Deployment, ScaledObject or ScaledJob."""
    return f"{RELEASE}-stoker-worker-{pool}"


pod_name_of = pool_name


def pod_specs(docs: Sequence[Doc]) -> Iterator[tuple[str, Doc]]:
    """``(where, pod spec)`` for every pod the documents would run: workloads, Jobs, ScaledJobs, Pods."""
    for d in docs:
        where = f"{d['kind']}/{d['metadata']['name']}"
        spec = d.get("spec", {})
        if d["kind"] == "Pod":
            yield where, spec
        elif d["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
            yield where, spec["template"]["spec"]
        elif d["kind"] == "ScaledJob":
            yield where, spec["jobTargetRef"]["template"]["spec"]


def containers(spec: Doc) -> list[Doc]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def env_names(container: Doc) -> list[str]:
    return [e["name"] for e in container.get("env", [])]


def env_map(container: Doc) -> dict[str, str]:
    """Plain ``value`` entries by name (``valueFrom`` ones left out)."""
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def component(doc: Doc) -> str | None:
    labels: dict[str, str] = doc.get("metadata", {}).get("labels", {})
    return labels.get("app.kubernetes.io/component")
