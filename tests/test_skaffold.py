"""skaffold.yaml: skaffold itself is not installable here, so this checks what it would use.

Both artifacts build from the repository root with Dockerfiles that declare the build args the
profiles pass; the Helm release points at the chart, every value it sets is a value of the chart,
and the chart rendered the way skaffold would (each profile's values, the image templates filled in)
deploys the built images, CPU-only under `cpu` and with a GPU limit under `gpu`.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SKAFFOLD = ROOT / "skaffold.yaml"
CONFIG: dict[str, Any] = yaml.safe_load(SKAFFOLD.read_text())
ARTIFACTS = {a["image"]: a for a in CONFIG["build"]["artifacts"]}
CHART_VALUES = ROOT / "charts" / "stoker" / "values.yaml"
GPU_RESOURCE = re.compile(r"^(nvidia\.com/(gpu|mig-.+)|amd\.com/gpu)$")


def _needs(path: Path) -> Path:
    """Skip while a file another part of the repository provides is not there yet."""
    if not path.exists():
        pytest.skip(f"{path.relative_to(ROOT)} does not exist yet")
    return path


# --- profiles: the JSON patches skaffold applies ---------------------------------------------------


def _apply(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """RFC 6902 add/replace/remove, as skaffold applies a profile's patches."""
    doc = copy.deepcopy(doc)
    for op in ops:
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        node = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if op["op"] == "remove":
            del node[int(last) if isinstance(node, list) else last]
        elif isinstance(node, list):
            if last == "-":
                node.append(op["value"])
            elif op["op"] == "add":
                node.insert(int(last), op["value"])
            else:
                node[int(last)] = op["value"]
        else:
            assert op["op"] in ("add", "replace"), op
            if op["op"] == "replace":
                assert last in node, f"replace of a missing {op['path']}"
            node[last] = op["value"]
    return doc


def effective(profile: str | None) -> dict[str, Any]:
    if profile is None:
        return copy.deepcopy(CONFIG)
    (p,) = [p for p in CONFIG["profiles"] if p["name"] == profile]
    config = _apply(CONFIG, p.get("patches", []))
    for section in ("build", "deploy"):  # a profile's own sections replace the top-level ones
        if section in p:
            config[section] = p[section]
    return config


PROFILES = [None, "cpu", "gpu"]
# Ids that name the profile; a bare "gpu" id would carry the `gpu` keyword, which conftest skips off-GPU.
PROFILE_IDS = ["no-profile", "profile-cpu", "profile-gpu"]


def test_the_config_and_its_profiles() -> None:
    assert CONFIG["apiVersion"].startswith("skaffold/v4beta")
    assert CONFIG["kind"] == "Config"
    assert [p["name"] for p in CONFIG["profiles"]] == ["cpu", "gpu"]
    for profile in PROFILES:
        effective(profile)  # every patch applies


def test_images_are_tagged_with_the_commit() -> None:
    assert CONFIG["build"]["tagPolicy"] == {"gitCommit": {}}


def test_both_artifacts_build_from_the_repository_root() -> None:
    assert list(ARTIFACTS) == ["stoker-api", "stoker-worker"]
    for name, artifact in ARTIFACTS.items():
        assert (ROOT / artifact["context"]).resolve() == ROOT, name
    assert ARTIFACTS["stoker-api"]["docker"]["dockerfile"] == "services/api/Dockerfile"
    assert ARTIFACTS["stoker-worker"]["docker"]["dockerfile"] == "services/worker/Dockerfile"


@pytest.mark.parametrize("name", ["stoker-api", "stoker-worker"])
def test_the_dockerfiles_exist(name: str) -> None:
    artifact = ARTIFACTS[name]
    _needs(ROOT / artifact["context"] / artifact["docker"]["dockerfile"])


def _declared_args(dockerfile: Path) -> dict[str, str | None]:
    """Each ``ARG NAME[=default]`` of a Dockerfile, with the first default given."""
    args: dict[str, str | None] = {}
    for line in dockerfile.read_text().splitlines():
        m = re.match(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?", line)
        if m and args.get(m[1]) is None:
            args[m[1]] = m[2]
    return args


@pytest.mark.parametrize("profile", PROFILES, ids=PROFILE_IDS)
def test_build_args_are_declared_by_the_dockerfiles(profile: str | None) -> None:
    for artifact in effective(profile)["build"]["artifacts"]:
        build_args = artifact["docker"].get("buildArgs", {})
        dockerfile = _needs(ROOT / artifact["context"] / artifact["docker"]["dockerfile"])
        declared = _declared_args(dockerfile)
        assert set(build_args) <= set(declared), f"{artifact['image']}: {set(build_args) - set(declared)}"


def test_without_a_profile_the_worker_gets_the_dockerfiles_defaults() -> None:
    worker = ARTIFACTS["stoker-worker"]
    declared = _declared_args(_needs(ROOT / worker["docker"]["dockerfile"]))
    for arg, value in worker["docker"].get("buildArgs", {}).items():
        assert value == declared[arg], arg


def test_the_profiles_pick_the_torch_build() -> None:
    def worker_args(profile: str) -> dict[str, str]:
        (worker,) = [a for a in effective(profile)["build"]["artifacts"] if a["image"] == "stoker-worker"]
        return dict(worker["docker"]["buildArgs"])

    cpu, gpu = worker_args("cpu"), worker_args("gpu")
    assert cpu["TORCH_INDEX_URL"].rstrip("/").endswith("/whl/cpu")
    assert "/whl/cu" in gpu["TORCH_INDEX_URL"]
    assert "cuda" not in cpu.get("BASE_IMAGE", "cuda"), "a CPU image needs no CUDA base"


# --- the Helm release ------------------------------------------------------------------------------


def _release(profile: str | None) -> dict[str, Any]:
    (release,) = effective(profile)["deploy"]["helm"]["releases"]
    return dict(release)


def test_the_release_deploys_the_chart() -> None:
    release = _release(None)
    assert release["chartPath"] == "charts/stoker"
    _needs(ROOT / release["chartPath"] / "Chart.yaml")
    assert release["namespace"] == "stoker"


def _has_path(values: Any, dotted: str) -> bool:
    node = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_every_value_set_is_a_value_of_the_chart() -> None:
    values = yaml.safe_load(_needs(CHART_VALUES).read_text())
    release = _release(None)
    keys = [*release.get("setValueTemplates", {}), *release.get("setValues", {})]
    assert keys
    assert [k for k in keys if not _has_path(values, k)] == []


def _template_var(kind: str, artifact: str) -> str:
    # skaffold's names for a named artifact: "/" and "-" become "_".
    return f"{{{{.IMAGE_{kind}_{re.sub(r'[/-]', '_', artifact)}}}}}"


def test_the_image_templates_name_both_artifacts() -> None:
    templates = _release(None)["setValueTemplates"]
    assert templates["image.api.repository"] == _template_var("REPO", "stoker-api")
    assert templates["image.worker.repository"] == _template_var("REPO", "stoker-worker")
    assert templates["image.tag"] in {_template_var("TAG", a) for a in ARTIFACTS}
    for value in templates.values():
        for var in re.findall(r"\{\{\s*\.IMAGE_(?:REPO|TAG|DIGEST|NAME)_(\w+)\s*\}\}", value):
            assert var in {re.sub(r"[/-]", "_", a) for a in ARTIFACTS}, value


@pytest.mark.parametrize("profile", ["cpu", "gpu"], ids=PROFILE_IDS[1:])
def test_each_profile_values_file_exists(profile: str) -> None:
    files = _release(profile).get("valuesFiles", [])
    assert files, f"profile {profile} sets no chart values"
    for path in files:
        _needs(ROOT / path)


# --- the chart as skaffold would deploy it ---------------------------------------------------------

FAKE = {"REPO_stoker_api": "registry.test/stoker-api", "REPO_stoker_worker": "registry.test/stoker-worker"}
FAKE |= {"TAG_stoker_api": "abc1234", "TAG_stoker_worker": "abc1234"}


def _helm() -> str:
    for candidate in (os.environ.get("HELM"), str(ROOT / ".tools" / "bin" / "helm"), shutil.which("helm")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = "helm is not installed: run scripts/install-k8s-tools.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _render(profile: str | None) -> list[dict[str, Any]]:
    release = _release(profile)
    _needs(ROOT / release["chartPath"] / "Chart.yaml")
    cmd = [_helm(), "template", release["name"], release["chartPath"], "-n", release["namespace"]]
    for path in release.get("valuesFiles", []):
        cmd += ["-f", str(_needs(ROOT / path))]
    for key, value in release.get("setValues", {}).items():
        cmd += ["--set", f"{key}={value}"]
    for key, template in release.get("setValueTemplates", {}).items():
        filled = re.sub(r"\{\{\s*\.IMAGE_(\w+)\s*\}\}", lambda m: FAKE[m[1]], template)
        cmd += ["--set", f"{key}={filled}"]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def _containers(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for doc in docs:
        spec = doc.get("spec", {})
        pod = spec.get("jobTargetRef", spec).get("template", {}).get("spec") if doc["kind"] != "Pod" else spec
        for c in (pod or {}).get("containers", []) + (pod or {}).get("initContainers", []):
            out.append((f"{doc['kind']}/{doc['metadata']['name']}", c))
    return out


@pytest.mark.parametrize("profile", PROFILES, ids=PROFILE_IDS)
def test_the_release_runs_the_built_images(profile: str | None) -> None:
    images = {c["image"] for _, c in _containers(_render(profile)) if "stoker" in c["image"]}
    assert images == {f"{FAKE['REPO_stoker_api']}:abc1234", f"{FAKE['REPO_stoker_worker']}:abc1234"}


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def _gpu_limits(container: dict[str, Any]) -> list[str]:
    return [r for r in container.get("resources", {}).get("limits", {}) if GPU_RESOURCE.match(r)]


def _workers(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(w, c) for w, c in _containers(docs) if "WORKER_QUEUES" in _env(c) and w.split("/")[0] != "Job"]


def test_the_cpu_profile_asks_for_no_gpu() -> None:
    docs = _render("cpu")
    workers = _workers(docs)
    assert workers
    for where, container in _containers(docs):
        assert not _gpu_limits(container), where
    for where, container in workers:
        assert _env(container).get("WORKER_DEVICE") == "cpu", where
    assert "nvidia.com/gpu" not in yaml.safe_dump_all(docs), "no GPU toleration or selector either"


def test_the_gpu_profile_runs_gpu_pools() -> None:
    workers = _workers(_render("gpu"))
    assert workers
    for where, container in workers:
        assert _gpu_limits(container), where
        assert _env(container).get("WORKER_DEVICE", "auto") != "cpu", where


def test_the_port_forward_reaches_the_api_service() -> None:
    (forward,) = CONFIG["portForward"]
    services = {d["metadata"]["name"]: d for d in _render(None) if d["kind"] == "Service"}
    service = services.get(forward["resourceName"])
    assert service is not None, sorted(services)
    assert forward["port"] in [p["port"] for p in service["spec"]["ports"]]
    assert forward["namespace"] == _release(None)["namespace"]
