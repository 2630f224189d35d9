"""checkov over the chart (its helm framework renders the defaults) and over every rendered scenario.

checkov lives in its own virtualenv (``make checkov-install``): in ``.venv`` it would downgrade packages that
torch needs. Every check it runs must pass except the ones below, each skipped for a stated reason.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.chart import CHART, ROOT, SCENARIO_IDS, SCENARIOS, helm, render
from tests.support.tools import TOOLS_BIN, require_tool

pytestmark = pytest.mark.slow

SKIPPED = {
    # API requests and limits are left to the cluster's defaults (or the user's values): its load varies too
    # much between installs for any default to be right.
    "CKV_K8S_10": "CPU requests of the API",
    "CKV_K8S_12": "memory requests of the API",
    "CKV_K8S_13": "memory limits of the API",
    # CPU limits throttle the Python processes (and torch's threads) even on an idle node; every container
    # that sets resources has CPU requests and memory limits, and workers their GPU limit.
    "CKV_K8S_11": "CPU limits",
    # IfNotPresent: a worker image holds CUDA and torch (gigabytes), and a pool scaled from zero must not
    # pull it again on every start. Releases are tagged per commit, and digests can be pinned.
    "CKV_K8S_15": "image pull policy Always",
    # `image.*.digest` pins a digest; by default the tag is used, so a freshly built tag installs as it is.
    "CKV_K8S_43": "image digests",
    # Every namespaced object is rendered with `namespace: {{ .Release.Namespace }}`; checkov renders the
    # chart without a namespace, so it sees `default`.
    "CKV_K8S_21": "the default namespace",
    # The services read their keys and the Redis password from the environment (pydantic settings), and
    # REDIS_URL's `$(REDIS_PASSWORD)` is expanded by the kubelet from another variable only.
    "CKV_K8S_35": "secrets in environment variables",
    # Workers of a Deployment pool mount a token to patch their own pod-deletion-cost annotation (a Role
    # allowing get and patch on pods, nothing else); every other pod has automountServiceAccountToken false.
    "CKV_K8S_38": "the workers' service account token",
    # The bundled Redis runs as the official image's own user, UID 999, which owns its files.
    "CKV_K8S_40": "a high UID for Redis",
    # The helm test pod runs one script and exits: nothing to probe.
    "CKV_K8S_8": "liveness probe of the test pod",
    "CKV_K8S_9": "readiness probe of the test pod",
}


def _checkov() -> str:
    local = ROOT / ".venv-checkov" / "bin" / "checkov"
    if local.exists():
        return str(local)
    return require_tool("checkov", "make checkov-install")


def _run(args: list[str]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [_checkov(), *args, "--skip-download", "--quiet", "--compact", "--output", "json"],
        env={**os.environ, "PATH": f"{TOOLS_BIN}:{Path(helm()).parent}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.stdout.strip(), proc.stderr
    reports = json.loads(proc.stdout)
    return reports if isinstance(reports, list) else [reports]


def _failures(reports: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for report in reports:
        for failed in report["results"]["failed_checks"]:
            out.setdefault(failed["check_id"], []).append(failed["resource"])
    return out


def _passed(reports: list[dict[str, Any]]) -> int:
    return sum(r["summary"]["passed"] for r in reports)


def _rendered(tmp_path: Path) -> Path:
    for values, name in zip(SCENARIOS, SCENARIO_IDS, strict=True):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump_all(render(values)))
    return tmp_path


def test_checkov_passes_the_chart() -> None:
    reports = _run(["-d", str(CHART), "--framework", "helm", "--skip-check", ",".join(SKIPPED)])
    assert _failures(reports) == {}
    assert _passed(reports) > 100


def test_checkov_passes_every_rendered_scenario(tmp_path: Path) -> None:
    reports = _run(["-d", str(_rendered(tmp_path)), "--framework", "kubernetes", "--skip-check", ",".join(SKIPPED)])
    assert _failures(reports) == {}
    assert _passed(reports) > 500


def test_every_skip_is_still_needed(tmp_path: Path) -> None:
    """A skip that nothing fails any more is dropped from the list rather than kept out of habit."""
    only = ["--check", ",".join(SKIPPED)]
    failing = set(_failures(_run(["-d", str(CHART), "--framework", "helm", *only])))
    failing |= set(_failures(_run(["-d", str(_rendered(tmp_path)), "--framework", "kubernetes", *only])))
    assert failing == set(SKIPPED)
