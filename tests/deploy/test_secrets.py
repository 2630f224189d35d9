"""Secrets the chart generates (API keys, the webhook key, the bundled Redis password): made once at
install, read back from the live Secret on every upgrade, replaced by given values, absent when existing
Secrets are named."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from tests.deploy.chart import NAMESPACE, Doc, one, render, render_upgrade, render_yaml
from tests.deploy.fake_apiserver import FakeApiServer

GENERATED = {"demo-stoker-auth": ["api-keys", "admin-keys"], "demo-stoker-webhook": ["webhook-secret"]}
GENERATED["demo-stoker-redis"] = ["redis-password"]


def _decoded(secret: Doc) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def _install(tmp_path: Path) -> list[Doc]:
    return render_yaml({"redis": {"enabled": True}}, tmp_path)


def test_an_install_generates_every_secret(tmp_path: Path) -> None:
    docs = _install(tmp_path)
    for name, keys in GENERATED.items():
        values = _decoded(one(docs, "Secret", name))
        assert sorted(values) == sorted(keys)
        # Letters and digits only: safe in REDIS_URL and in an Authorization header; long enough for the API.
        assert all(re.fullmatch(r"[A-Za-z0-9]{40}", v) for v in values.values())
    with FakeApiServer([]) as empty:  # another fresh install
        again = render_upgrade(empty.kubeconfig(tmp_path), sets=["redis.enabled=true"])
    assert _decoded(one(docs, "Secret", "demo-stoker-auth")) != _decoded(one(again, "Secret", "demo-stoker-auth"))


def test_an_upgrade_keeps_what_the_install_generated(tmp_path: Path) -> None:
    installed = {name: one(_install(tmp_path), "Secret", name) for name in GENERATED}
    with FakeApiServer(installed.values()) as cluster:
        upgraded = render_upgrade(cluster.kubeconfig(tmp_path), sets=["redis.enabled=true"])
    for name in GENERATED:
        assert one(upgraded, "Secret", name)["data"] == installed[name]["data"], name
    assert {f"/api/v1/namespaces/{NAMESPACE}/secrets/{name}" for name in GENERATED} <= set(cluster.requests)


def test_given_keys_replace_generated_ones(tmp_path: Path) -> None:
    installed = {"demo-stoker-auth": one(render(), "Secret", "demo-stoker-auth")}
    with FakeApiServer(installed.values()) as cluster:
        docs = render_upgrade(
            cluster.kubeconfig(tmp_path), sets=["auth.apiKeys={first-key-0123456789,second-key-0123456789}"]
        )
    assert _decoded(one(docs, "Secret", "demo-stoker-auth"))["api-keys"] == "first-key-0123456789,second-key-0123456789"
    assert (
        _decoded(one(docs, "Secret", "demo-stoker-auth"))["admin-keys"]
        == _decoded(installed["demo-stoker-auth"])["admin-keys"]
    )


def test_existing_secrets_are_used_and_none_is_made(tmp_path: Path) -> None:
    overrides = {
        "auth": {"existingSecret": "my-keys", "apiKeysKey": "user", "adminKeysKey": "admin"},
        "webhooks": {"existingSecret": "my-hmac", "key": "k"},
        "redis": {"enabled": True, "auth": {"existingSecret": "my-redis", "key": "pw"}},
    }
    docs = render_yaml(overrides, tmp_path)
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Secret"] == []
    api = one(docs, "Deployment", "demo-stoker-api")["spec"]["template"]["spec"]["containers"][0]
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in api["env"]
        if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]
    }
    assert refs["API_API_KEYS"] == {"name": "my-keys", "key": "user"}
    assert refs["API_ADMIN_KEYS"] == {"name": "my-keys", "key": "admin", "optional": True}
    assert refs["REDIS_PASSWORD"] == {"name": "my-redis", "key": "pw"}
    worker = one(docs, "Deployment", "demo-stoker-worker-default")["spec"]["template"]["spec"]["containers"][0]
    (hmac,) = [e for e in worker["env"] if e["name"] == "WORKER_WEBHOOK_SECRET"]
    assert hmac["valueFrom"]["secretKeyRef"] == {"name": "my-hmac", "key": "k"}
