"""templates/redis/ and the Redis connection of every pod: external (plain, TLS) or bundled."""

from __future__ import annotations

from pathlib import Path

from tests.deploy.chart import SCENARIO_IDS, SCENARIOS, Doc, env_map, of_kind, one, pod_specs, render, render_yaml

REDIS = "demo-stoker-redis"


def _scenario(name: str) -> Path:
    return SCENARIOS[SCENARIO_IDS.index(name)]


def _redis_urls(docs: list[Doc]) -> set[str]:
    return {
        env_map(c)["REDIS_URL"] for _, spec in pod_specs(docs) for c in spec["containers"] if "REDIS_URL" in env_map(c)
    }


def test_disabled_by_default_with_the_external_default() -> None:
    docs = render()
    assert of_kind(docs, "StatefulSet") == []
    assert _redis_urls(docs) == {"redis://redis:6379/0"}


def test_bundled_redis_has_aof_a_password_a_volume_and_a_policy() -> None:
    docs = render(_scenario("bundled-redis"))
    sts = one(docs, "StatefulSet", REDIS)["spec"]
    (container,) = sts["template"]["spec"]["containers"]
    args = container["args"]
    flags = dict(zip(args[::2], args[1::2], strict=True))
    assert flags["--appendonly"] == "yes" and flags["--appendfsync"] == "always"
    assert flags["--maxmemory-policy"] == "noeviction" and flags["--maxmemory"] == "768mb"
    assert flags["--requirepass"] == "$(REDIS_PASSWORD)"
    assert container["startupProbe"]["exec"]["command"] == ["redis-cli", "ping"]
    assert {e["name"] for e in container["env"]} == {"REDIS_PASSWORD", "REDISCLI_AUTH"}
    (claim,) = sts["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert claim["spec"]["storageClassName"] == "premium-rwo"
    assert one(docs, "Service", f"{REDIS}-headless")["spec"]["clusterIP"] == "None"
    assert _redis_urls(docs) == {f"redis://{REDIS}.stoker.svc:6379/0"}
    policy = one(docs, "NetworkPolicy", REDIS)["spec"]
    client, keda = policy["ingress"][0]["from"]
    assert client["podSelector"]["matchLabels"]["stoker.dev/redis-client"] == "true"
    assert keda["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "keda-system"}


def test_only_redis_clients_carry_the_label_the_policy_admits() -> None:
    docs = render(_scenario("bundled-redis"))
    labelled = {
        f"{d['kind']}/{d['metadata']['name']}"
        for d in docs
        if d["kind"] in ("Deployment", "Job", "StatefulSet")
        and d["spec"]["template"]["metadata"]["labels"].get("stoker.dev/redis-client") == "true"
    }
    assert labelled == {
        "Deployment/demo-stoker-api",
        "Deployment/demo-stoker-worker-default",
        "Job/demo-stoker-worker-default-catalog",
    }


def test_bundled_redis_without_persistence_uses_an_empty_dir(tmp_path: Path) -> None:
    docs = render_yaml({"redis": {"enabled": True, "persistence": {"enabled": False}}}, tmp_path)
    sts = one(docs, "StatefulSet", REDIS)["spec"]
    assert "volumeClaimTemplates" not in sts
    assert {"name": "data", "emptyDir": {}} in sts["template"]["spec"]["volumes"]


def test_external_tls_with_a_private_ca_mounts_it_everywhere() -> None:
    docs = render(_scenario("external-redis-tls"))
    url = "rediss://redis.cache.example.internal:6380/2?ssl_ca_certs=/etc/stoker/redis-tls/ca.pem"
    assert _redis_urls(docs) == {url}
    for where, spec in pod_specs(docs):
        container = spec["containers"][0]
        if "REDIS_URL" not in env_map(container):
            continue
        (volume,) = [v for v in spec["volumes"] if v["name"] == "redis-tls"]
        assert volume["secret"]["secretName"] == "stoker-redis-ca", where
        assert {"name": "redis-tls", "mountPath": "/etc/stoker/redis-tls", "readOnly": True} in container[
            "volumeMounts"
        ]


def test_external_tls_with_system_cas_can_skip_verification() -> None:
    docs = render(_scenario("external-redis-tls-system-ca"))
    host = "master.stoker.abc123.use1.cache.amazonaws.com"
    assert _redis_urls(docs) == {f"rediss://{host}:6379/0?ssl_cert_reqs=none"}


def test_an_acl_user_reaches_the_services_and_keda(tmp_path: Path) -> None:
    values = {"host": "redis.example.internal", "username": "stoker", "password": {"existingSecret": "redis-acl"}}
    docs = render_yaml({"externalRedis": values}, tmp_path)
    for where, spec in pod_specs(docs):
        env = env_map(spec["containers"][0])
        if "REDIS_URL" in env:
            assert env["REDIS_USERNAME"] == "stoker", where
            assert env["REDIS_URL"] == "redis://redis.example.internal:6379/0", where  # no credentials in it
    for so in of_kind(docs, "ScaledObject"):
        assert {t["metadata"]["username"] for t in so["spec"]["triggers"]} == {"stoker"}
