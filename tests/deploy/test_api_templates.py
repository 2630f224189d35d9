"""templates/api/: Deployment, Service, HPA, PDB, Ingress, HTTPRoute, NetworkPolicy; disabled, defaults, overrides."""

from __future__ import annotations

from pathlib import Path

from tests.deploy.chart import SCENARIO_IDS, SCENARIOS, env_map, of_kind, one, render, render_yaml

API = "demo-stoker-api"


def _scenario(name: str) -> Path:
    return SCENARIOS[SCENARIO_IDS.index(name)]


def test_defaults() -> None:
    docs = render()
    deployment = one(docs, "Deployment", API)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 0}
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "stoker-api:0.1.0"  # the chart's appVersion
    assert "resources" not in container  # left to the cluster
    assert env_map(container)["API_HOST"] == "0.0.0.0"
    assert env_map(container)["LOG_FORMAT"] == "json"
    assert not any(n.startswith("OTEL_") for n in env_map(container))  # tracing off: nothing set
    assert container["lifecycle"]["preStop"] == {"sleep": {"seconds": 5}}
    assert pod["terminationGracePeriodSeconds"] == 75
    assert pod["automountServiceAccountToken"] is False
    assert one(docs, "Service", API)["spec"]["type"] == "ClusterIP"
    assert one(docs, "PodDisruptionBudget", API)["spec"]["maxUnavailable"] == 1
    for kind in ("HorizontalPodAutoscaler", "Ingress", "HTTPRoute"):
        assert of_kind(docs, kind) == [], kind  # off by default


def test_autoscaled_has_no_replicas_and_an_hpa() -> None:
    docs = render(_scenario("ingress-httproute"))
    assert "replicas" not in one(docs, "Deployment", API)["spec"]
    hpa = one(docs, "HorizontalPodAutoscaler", API)["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 20)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": API}
    assert hpa["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 120}}


def test_ingress_and_httproute_overrides() -> None:
    docs = render(_scenario("ingress-httproute"))
    ingress = one(docs, "Ingress", API)
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["jobs.example.com"], "secretName": "jobs-example-com-tls"}]
    (rule,) = ingress["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert (rule["host"], backend) == ("jobs.example.com", {"name": API, "port": {"name": "http"}})
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    route = one(docs, "HTTPRoute", API)["spec"]
    assert route["parentRefs"] == [{"name": "public", "namespace": "gateway", "sectionName": "https"}]
    assert route["rules"][0]["timeouts"] == {"request": "3600s"}
    assert route["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]


def test_an_ingress_without_a_class_leaves_it_to_the_cluster(tmp_path: Path) -> None:
    docs = render_yaml({"api": {"ingress": {"enabled": True}}}, tmp_path)
    assert "ingressClassName" not in one(docs, "Ingress", API)["spec"]


def test_disabled_pdb_preStop_and_network_policy(tmp_path: Path) -> None:
    overrides = {"api": {"pdb": {"enabled": False}, "preStopSleepSeconds": 0}, "networkPolicy": {"enabled": False}}
    docs = render_yaml(overrides, tmp_path)
    assert of_kind(docs, "PodDisruptionBudget") == []
    assert of_kind(docs, "NetworkPolicy") == []
    (container,) = one(docs, "Deployment", API)["spec"]["template"]["spec"]["containers"]
    assert "lifecycle" not in container


def test_tracing_sets_the_standard_variables() -> None:
    (container,) = one(render(_scenario("monitors-on")), "Deployment", API)["spec"]["template"]["spec"]["containers"]
    env = env_map(container)
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.observability:4318"
    assert env["OTEL_SERVICE_NAME"] == "stoker-api"
    assert env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
    assert env["OTEL_TRACES_SAMPLER_ARG"] == "0.25"
    assert env["OTEL_EXPORTER_OTLP_TIMEOUT"] == "5000"
    attributes = env["OTEL_RESOURCE_ATTRIBUTES"].split(",")
    assert attributes[:3] == [
        "k8s.pod.name=$(POD_NAME)",
        "k8s.namespace.name=$(POD_NAMESPACE)",
        "k8s.node.name=$(NODE_NAME)",
    ]
    assert "deployment.environment=staging" in attributes
    names = [e["name"] for e in container["env"]]
    assert names.index("POD_NAME") < names.index("OTEL_RESOURCE_ATTRIBUTES")  # defined before it is expanded


def test_images_take_registry_tag_and_digest() -> None:
    docs = render(_scenario("gpu-pools"))
    assert (
        one(docs, "Deployment", API)["spec"]["template"]["spec"]["containers"][0]["image"]
        == "ghcr.io/acme/stoker-api:1.4.0"
    )
    workers = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in of_kind(docs, "Deployment")
    }
    assert workers["demo-stoker-worker-a100"] == "ghcr.io/acme/acme-worker:2.0.1"
    assert workers["demo-stoker-worker-l4"] == "ghcr.io/acme/stoker-worker:1.4.0"
    digest = one(render(_scenario("external-redis-tls")), "Deployment", API)["spec"]["template"]["spec"]
    assert digest["containers"][0]["image"].endswith(":0.1.0@sha256:" + "0123456789abcdef" * 4)
    assert digest["imagePullSecrets"] == [{"name": "registry-credentials"}]
