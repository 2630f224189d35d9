"""The README's Kubernetes walkthrough, run as written.

There is no cluster here, so only the cluster is stood in for: ``helm install`` renders the chart with
the real ``helm`` and runs the catalog hook's rendered command; ``kubectl`` is the real binary, reading
the rendered objects from a read-only API server (mutations run with ``--dry-run=client``; ``rollout``
checks its target exists, and ``rollout restart`` SIGTERMs the worker and starts its successor, as the
ReplicaSet would); ``curl`` reaches a real API started with the rendered API container's environment;
a real worker with the rendered pool's environment starts once a job waits in a list the ScaledObject
counts, as KEDA would wake it; ``helm test`` runs the rendered test pod's script.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import yaml

from tests.deploy.chart import Doc, containers, one
from tests.deploy.fake_apiserver import FakeApiServer
from tests.support.processes import start_api
from tests.support.redis_server import RedisProcess, find_binaries
from tests.support.tools import require_tool

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

PRELUDE = r"""
set -euo pipefail
helm() {
  echo "helm $*" >> "$WALK_DIR/calls"
  case "$1 ${2:-}" in
    "repo add"|"repo update"|"install keda") ;;          # KEDA's chart is not reachable here
    "install stoker") "$WALK_HELM" template "${@:2}" > "$WALK_DIR/render.yaml"; bash "$WALK_DIR/catalog.sh" ;;
    "test stoker") bash "$WALK_DIR/helm-test.sh" ;;
    *) echo "walkthrough: unexpected helm $*" >&2; return 97 ;;
  esac
}
kubectl() {
  echo "kubectl $*" >> "$WALK_DIR/calls"
  case " $* " in
    *" port-forward "*) "$WALK_KUBECTL" -n "$2" get "${4}" -o name > /dev/null ;;
    *" rollout restart "*) rollout_as_get "$@"; bash "$WALK_DIR/restart-worker.sh" ;;
    *" rollout "*) rollout_as_get "$@" ;;
    *" annotate "*) echo --- >> "$WALK_DIR/annotated.yaml"
                    "$WALK_KUBECTL" "$@" --dry-run=client -o yaml >> "$WALK_DIR/annotated.yaml" ;;
    *) "$WALK_KUBECTL" "$@" ;;
  esac
}
rollout_as_get() {  # `kubectl -n NS rollout VERB TARGET` -> `kubectl -n NS get TARGET`
  local args=() skip=0
  for a in "$@"; do
    if [ "$a" = rollout ]; then args+=(get); skip=1; elif [ $skip = 1 ]; then skip=0; else args+=("$a"); fi
  done
  "$WALK_KUBECTL" "${args[@]}" -o name > /dev/null
}
curl() { command curl "${@//localhost:8000/$WALK_API}"; }
"""


def walkthrough() -> str:
    """The first ``bash`` block of the README's Kubernetes section."""
    section = README.read_text().split("\n## Kubernetes\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "the README's Kubernetes section has no bash block"
    return match.group(1)


def _commands(script: str) -> list[list[str]]:
    joined = script.replace("\\\n", " ")
    lines = [line.split(" #")[0].strip() for line in joined.splitlines()]
    return [shlex.split(line) for line in lines if line and not line.startswith("#")]


def _install_args(script: str) -> list[str]:
    (install,) = [c for c in _commands(script) if c[:3] == ["helm", "install", "stoker"]]
    return install[2:]


def kubelet_env(container: Doc, docs: list[Doc]) -> dict[str, str]:
    """The container's environment as the kubelet makes it: Secret and field refs, ``$(VAR)`` expanded."""
    env: dict[str, str] = {}
    for entry in container.get("env", []):
        if "value" in entry:
            value = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), entry["value"])
        elif ref := entry["valueFrom"].get("secretKeyRef"):
            value = base64.b64decode(one(docs, "Secret", ref["name"])["data"][ref["key"]]).decode()
        else:
            value = "walkthrough-" + entry["name"].lower().replace("_", "-")
        env[entry["name"]] = value
    return env


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _command_line(env: dict[str, str], argv: list[str]) -> str:
    return "env -i " + " ".join(shlex.quote(f"{k}={v}") for k, v in env.items()) + " " + shlex.join(argv)


@pytest.fixture
def installed() -> list[Doc]:
    """What the README's ``helm install stoker …`` line installs, rendered by the real ``helm``."""
    helm = require_tool("helm", "scripts/install-k8s-tools.sh")
    rendered = subprocess.run(
        [helm, "template", *_install_args(walkthrough())], cwd=ROOT, capture_output=True, check=True
    )
    return [d for d in yaml.safe_load_all(rendered.stdout.decode()) if d]


@pytest.fixture
def bundled_redis(installed: list[Doc]) -> Iterator[RedisProcess]:
    """A real redis-server standing in for the bundled one: the password the chart generated, no other."""
    binaries = find_binaries()
    if not binaries:
        pytest.skip("no redis-server on this machine")
    password = base64.b64decode(one(installed, "Secret", "stoker-redis")["data"]["redis-password"]).decode()
    server = RedisProcess(binaries[max(binaries)], password=password)
    server.start()
    yield server
    server.close()


def test_the_readme_walkthrough_runs_as_written(
    installed: list[Doc], bundled_redis: RedisProcess, tmp_path: Path
) -> None:
    script, docs, url = walkthrough(), installed, bundled_redis.url
    helm = require_tool("helm", "scripts/install-k8s-tools.sh")
    kubectl = require_tool("kubectl", "scripts/install-k8s-tools.sh")

    # The one change to what the kubelet would set: Redis's address (the password is the Secret's).
    base_env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "REDIS_URL": url}
    (api_container,) = containers(one(docs, "Deployment", "stoker-api")["spec"]["template"]["spec"])
    api_env = kubelet_env(api_container, docs)
    assert (api_env["REDIS_URL"], api_env["REDIS_PASSWORD"]) == (
        "redis://stoker-redis.stoker.svc:6379/0",
        bundled_redis.password,
    )
    api_env |= {"REDIS_URL": url, "API_HOST": "127.0.0.1", "LOG_FORMAT": "text"}
    api, base = start_api(url, tmp_path, env={k: v for k, v in api_env.items() if k != "API_PORT"})

    worker_spec = one(docs, "Deployment", "stoker-worker-default")["spec"]["template"]["spec"]
    (worker_container,) = containers(worker_spec)
    worker_env = kubelet_env(worker_container, docs) | base_env | {"WORKER_DEVICE": "cpu", "WORKER_HEALTH_PORT": "0"}
    worker_env |= {"WORKER_CLAIM_BLOCK_S": "0.2", "LOG_FORMAT": "text"}
    worker = _command_line(worker_env, [sys.executable, "-m", "stoker_worker"])
    logs = tmp_path / "workers.log"
    _write(tmp_path / "start-worker.sh", f"{worker} >> {logs} 2>&1 & echo $! > {tmp_path}/worker.pid\n")
    _write(
        tmp_path / "restart-worker.sh",
        f"old=$(cat {tmp_path}/worker.pid); kill -TERM $old\n"
        f"while kill -0 $old 2>/dev/null; do sleep 0.1; done\nbash {tmp_path}/start-worker.sh\n",
    )
    (hook,) = containers(one(docs, "Job", "stoker-worker-default-catalog")["spec"]["template"]["spec"])
    hook_env = kubelet_env(hook, docs) | base_env
    _write(tmp_path / "catalog.sh", _command_line(hook_env, [sys.executable, "-m", "stoker_worker", *hook["args"]]))
    (tester,) = containers(one(docs, "Pod", "stoker-test-submit")["spec"])
    tester_env = kubelet_env(tester, docs) | base_env | {"STOKER_URL": base}
    _write(tmp_path / "helm-test.sh", _command_line(tester_env, [sys.executable, "-I", *tester["command"][1:]]))

    triggers = one(docs, "ScaledObject", "stoker-worker-default")["spec"]["triggers"]
    lists = [t["metadata"]["listName"] for t in triggers]
    woken = threading.Event()
    keda = threading.Thread(target=_wake_on_backlog, args=(bundled_redis, lists, tmp_path, woken), daemon=True)
    keda.start()
    env = {
        **os.environ,
        "WALK_DIR": str(tmp_path),
        "WALK_HELM": helm,
        "WALK_KUBECTL": kubectl,
        "WALK_API": base.removeprefix("http://"),
    }
    try:
        with FakeApiServer(docs) as cluster:
            env["KUBECONFIG"] = str(cluster.kubeconfig(tmp_path))
            run = subprocess.run(
                ["bash", "-c", PRELUDE + script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=240
            )
        assert run.returncode == 0, run.stdout + run.stderr + logs.read_text()
    finally:
        woken.set()
        pid = (tmp_path / "worker.pid").read_text().strip() if (tmp_path / "worker.pid").exists() else ""
        if pid:
            subprocess.run(["kill", "-TERM", pid], check=False)
        api.terminate()

    assert run.stdout.splitlines()[-1].startswith("result ")  # helm test saw its job finish
    assert "384" in run.stdout.splitlines()  # the embedding's width, printed by the README's result line
    calls = (tmp_path / "calls").read_text()
    assert calls.count("kubectl ") == script.count("kubectl ") and calls.count("helm ") == script.count("helm ")
    assert "helm install keda kedacore/keda --version 2.16.1" in calls
    assert "--version 2.16.1" in (ROOT / "keda" / "README.md").read_text()  # one pin, said twice
    annotated = [d for d in yaml.safe_load_all((tmp_path / "annotated.yaml").read_text()) if d]
    assert annotated[0]["metadata"]["annotations"]["autoscaling.keda.sh/paused-replicas"] == "2"
    assert "autoscaling.keda.sh/paused-replicas" not in annotated[1]["metadata"].get("annotations", {})
    assert re.search(r"stopped after [1-9]\d* jobs \(exit 0\)", logs.read_text())  # the first pod drained


def _wake_on_backlog(server: RedisProcess, lists: list[str], tmp_path: Path, stop: threading.Event) -> None:
    """Start the pool's first pod once a job waits in a list its ScaledObject counts (KEDA's activation)."""
    client = redis.Redis.from_url(server.url, password=server.password)
    while not stop.is_set():
        if any(client.llen(name) for name in lists):
            subprocess.run(["bash", str(tmp_path / "start-worker.sh")], check=True)
            return
        time.sleep(0.05)
