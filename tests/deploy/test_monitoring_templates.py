"""templates/monitoring/: ServiceMonitor, PodMonitor, PrometheusRule and dashboard ConfigMaps."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.deploy.chart import CHART, ROOT, SCENARIO_IDS, SCENARIOS, Doc, of_kind, one, render, render_yaml

MONITORING = ("ServiceMonitor", "PodMonitor", "PrometheusRule")


def _monitors_on() -> list[Doc]:
    return render(SCENARIOS[SCENARIO_IDS.index("monitors-on")])


def test_everything_is_off_by_default() -> None:
    docs = render()
    for kind in MONITORING:
        assert of_kind(docs, kind) == []
    assert [d for d in of_kind(docs, "ConfigMap") if "dashboard" in d["metadata"]["name"]] == []


def test_monitors_carry_the_release_label_and_select_their_pods() -> None:
    docs = _monitors_on()
    sm = one(docs, "ServiceMonitor")
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert sm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "api"
    assert sm["spec"]["endpoints"][0]["interval"] == "15s"
    pm = one(docs, "PodMonitor")
    assert pm["metadata"]["labels"]["team"] == "ml-platform"
    assert pm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "worker"
    assert pm["spec"]["namespaceSelector"] == {"matchNames": ["stoker"]}


def test_the_prometheus_rule_is_the_rules_file_with_absolute_runbooks() -> None:
    source = yaml.safe_load((ROOT / "monitoring" / "rules" / "stoker.rules.yaml").read_text())
    spec = one(_monitors_on(), "PrometheusRule")["spec"]
    assert [g["name"] for g in spec["groups"]] == [g["name"] for g in source["groups"]]
    base = "https://git.example.com/stoker/blob/main/"
    for group, original in zip(spec["groups"], source["groups"], strict=True):
        for rule, before in zip(group["rules"], original["rules"], strict=True):
            if url := before.get("annotations", {}).get("runbook_url"):
                before["annotations"]["runbook_url"] = base + url
            assert rule == before  # templates such as {{ $labels.queue }} left for Prometheus
    assert any("runbook_url" in r.get("annotations", {}) for g in spec["groups"] for r in g["rules"])


def test_without_a_base_url_runbooks_stay_relative(tmp_path: Path) -> None:
    docs = render_yaml({"monitoring": {"prometheusRule": {"enabled": True}}}, tmp_path)
    urls = [
        r["annotations"]["runbook_url"]
        for g in one(docs, "PrometheusRule")["spec"]["groups"]
        for r in g["rules"]
        if "annotations" in r and "runbook_url" in r["annotations"]
    ]
    assert urls and all(u.startswith("docs/operations.md#") for u in urls)


def test_dashboards_are_configmaps_for_the_grafana_sidecar() -> None:
    maps = [d for d in of_kind(_monitors_on(), "ConfigMap") if "dashboard" in d["metadata"]["name"]]
    assert {m["metadata"]["name"] for m in maps} == {f"demo-stoker-dashboard-{b}" for b in ("api", "queues", "workers")}
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["namespace"] == "monitoring"
        assert cm["metadata"]["annotations"] == {"grafana_folder": "Stoker"}
        ((key, text),) = cm["data"].items()
        board = key.removeprefix("stoker-").removesuffix(".json")
        assert json.loads(text) == json.loads((CHART / "files" / "dashboards" / f"{board}.json").read_text())
