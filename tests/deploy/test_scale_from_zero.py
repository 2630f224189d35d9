"""A fresh install with every pool at zero: the catalog hook Job, run as rendered, lets the API accept the
pools' tasks with no worker running, and the accepted jobs wait in the lists the pool's ScaledObject reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redis

from tests.deploy.chart import Doc, env_map, of_kind, one, pool_name, render_yaml
from tests.support.processes import API_KEY, start_api

pytestmark = pytest.mark.slow
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def _catalog_job(docs: list[Doc], pool: str) -> Doc:
    (job,) = [j for j in of_kind(docs, "Job") if j["metadata"]["labels"].get("stoker.dev/pool") == pool]
    return job


def _command(container: Doc) -> list[str]:
    """The container's command line, with the image's console script run from this checkout instead."""
    command = container.get("command") or ["stoker-worker"]  # the worker image's ENTRYPOINT
    assert command[0] == "stoker-worker"
    return [sys.executable, "-m", "stoker_worker", *command[1:], *container.get("args", [])]


def test_the_hook_runs_at_install_and_upgrade(tmp_path: Path) -> None:
    job = _catalog_job(render_yaml({}, tmp_path), "default")
    hooks = job["metadata"]["annotations"]
    assert set(hooks["helm.sh/hook"].split(",")) == {"post-install", "post-upgrade"}
    assert "before-hook-creation" in hooks["helm.sh/hook-delete-policy"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["--publish-catalog"]
    assert "resources" in container and "nvidia.com/gpu" not in container["resources"].get("limits", {})


def test_the_rendered_hook_command_lets_the_api_take_jobs_with_no_worker(newest_redis_url: str, tmp_path: Path) -> None:
    url = urlsplit(newest_redis_url)
    values = {"externalRedis": {"host": url.hostname, "port": url.port, "database": int(url.path.strip("/") or 0)}}
    docs = render_yaml(values, tmp_path)
    (container,) = _catalog_job(docs, "default")["spec"]["template"]["spec"]["containers"]
    env = env_map(container)
    assert set(env_map(container)) == {e["name"] for e in container["env"]}  # no Secret needed here
    client = redis.Redis.from_url(newest_redis_url)
    client.flushdb()

    api, base = start_api(newest_redis_url, tmp_path)
    try:
        echo = {"task": "echo", "input": {"hello": "stoker"}}
        embed = {"task": "embed", "input": {"texts": ["scale from zero"]}}
        assert httpx.post(f"{base}/v1/jobs", json=echo, headers=AUTH).status_code == 404  # nothing published yet

        publish = subprocess.run(
            _command(container),
            env={"PATH": "/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert publish.returncode == 0, publish.stdout + publish.stderr

        accepted = [httpx.post(f"{base}/v1/jobs", json=job, headers=AUTH) for job in (echo, embed)]
        assert [a.status_code for a in accepted] == [202, 202], [a.text for a in accepted]
        jobs = [httpx.get(f"{base}/v1/jobs/{a.json()['id']}", headers=AUTH).json() for a in accepted]
        assert [(j["queue"], j["status"]) for j in jobs] == [("default", "queued"), ("embed", "queued")]
        assert httpx.get(f"{base}/v1/workers", headers=AUTH).json()["items"] == []  # no worker runs
    finally:
        api.terminate()

    # Both jobs wait where the pool's triggers look, so KEDA wakes the pool.
    triggers = one(docs, "ScaledObject", pool_name("default"))["spec"]["triggers"]
    assert sum(client.llen(t["metadata"]["listName"]) for t in triggers) == 2
    assert {t["metadata"]["address"] for t in triggers} == {f"{url.hostname}:{url.port}"}
