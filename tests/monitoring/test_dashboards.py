"""The Grafana dashboards: generated, schema-clean, valid PromQL, and backed by data from the real services."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]

from monitoring import dashboards
from tests.monitoring.conftest import RULES, LiveStack
from tests.support.prometheus import require_tool

ROOT = Path(__file__).resolve().parents[2]
BOARDS = {name: json.loads((dashboards.OUT_DIR / name).read_text()) for name in dashboards.DASHBOARDS}
# What Grafana puts in place of its variables, for a Prometheus that has scraped for a few seconds.
VARIABLES = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "15s", "$queue": ".*"}
GPU_ONLY = "stoker_gpu_memory_used_bytes"  # exported by CUDA workers alone


@dataclass(frozen=True)
class PanelQuery:
    board: str
    panel: str
    ref: str
    expr: str

    @property
    def promql(self) -> str:
        expr = self.expr
        for name, value in VARIABLES.items():
            expr = expr.replace(name, value)
        return expr


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in board["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # the panels of a collapsed row
    return panels


QUERIES = [
    PanelQuery(name.removesuffix(".json"), panel["title"], target["refId"], target["expr"])
    for name, board in BOARDS.items()
    for panel in _panels(board)
    for target in panel.get("targets", [])
]


def test_committed_dashboards_are_what_the_generator_writes() -> None:
    check = subprocess.run(
        [sys.executable, "-m", "monitoring.dashboards", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_the_check_reports_a_hand_edited_dashboard(tmp_path: Path) -> None:
    dashboards.write(tmp_path)
    assert dashboards.stale(tmp_path) == []
    edited = tmp_path / "api.json"
    edited.write_text(edited.read_text().replace("Stoker / API", "Stoker API"))
    (tmp_path / "workers.json").unlink()
    assert dashboards.stale(tmp_path) == ["workers.json", "api.json"]


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of a JSON document by its key path, e.g. ``.panels[3].targets[0].expr``."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _leaves(item, f"{path}.{key}").items()}
    if isinstance(value, list) and value:
        return {k: v for i, item in enumerate(value) for k, v in _leaves(item, f"{path}[{i}]").items()}
    return {path: value}


def _round_trip(data: dict[str, Any]) -> dict[str, Any]:
    """Decode with the SDK's models and encode again: keys the schema does not know are dropped."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard

    register_default_plugins()  # panel options and queries decode into their typed models
    again: dict[str, Any] = json.loads(json.dumps(Dashboard.from_json(data), cls=JSONEncoder))
    return again


def _unknown_keys(data: dict[str, Any]) -> dict[str, Any]:
    """Leaves the decoder lost or changed. It adds defaults, so only the original's leaves count."""
    again = _leaves(_round_trip(data))
    return {path: value for path, value in _leaves(data).items() if again.get(path, ...) != value}


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_dashboard_has_no_key_outside_the_grafana_schema(name: str) -> None:
    assert _unknown_keys(BOARDS[name]) == {}


def test_the_schema_check_catches_a_misspelled_key() -> None:
    board = json.loads(json.dumps(BOARDS["queues.json"]))
    board["panels"][1]["titel"] = "typo"
    board["refreshh"] = "1m"
    assert set(_unknown_keys(board)) == {".panels[1].titel", ".refreshh"}


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_dashboard_identity_and_variables(name: str) -> None:
    board = BOARDS[name]
    assert board["uid"] == f"stoker-{name.removesuffix('.json')}"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    queue = variables["queue"]
    assert queue["query"] == "label_values(stoker_queue_jobs, queue)"
    assert queue["multi"] and queue["includeAll"]
    for panel in _panels(board):
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: f"{q.board}:{q.panel}:{q.ref}")
def test_panel_query_follows_the_conventions(query: PanelQuery) -> None:
    windows = re.findall(r"(rate|increase|delta)\([^\[]*\[([^\]]+)\]", query.expr)
    for function, window in windows:
        # Grafana sizes rate windows to the scrape interval; a 30-minute delta mirrors an alert.
        assert window in ("$__rate_interval", "$__range") or function == "delta", query.expr
    if "stoker_queue_" in query.expr or "stoker_redis_up" in query.expr:
        # Every API replica exports these gauges alike: summing them would count each job once per replica.
        assert not re.search(r"\bsum\b", query.expr), query.expr


def test_every_panel_query_parses(tmp_path: Path) -> None:
    rules = [{"record": f"panel:query_{i}:check", "expr": q.promql} for i, q in enumerate(QUERIES)]
    path = tmp_path / "panels.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    check = subprocess.run([require_tool("promtool"), "check", "rules", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@pytest.mark.slow
@pytest.mark.parametrize("query", QUERIES, ids=lambda q: f"{q.board}:{q.panel}:{q.ref}")
def test_panel_query_returns_data_from_the_live_services(live_stack: LiveStack, query: PanelQuery) -> None:
    result = live_stack.prometheus.query(query.promql)
    if not result and GPU_ONLY in query.expr:
        for url in live_stack.worker_metrics:  # declared, even where no sample can exist
            assert f"# TYPE {GPU_ONLY} gauge" in httpx.get(url, timeout=5).text
        if not _cuda_available():
            pytest.skip(f"no CUDA device here: workers export {GPU_ONLY} samples only on CUDA")
    assert result, f"no series for {query.promql}"


@pytest.mark.slow
def test_rules_evaluate_on_the_live_series(live_stack: LiveStack) -> None:
    prometheus = live_stack.prometheus
    rules = [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]
    written = [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]
    assert len(rules) == len(written)
    assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []
    for rule in rules:
        if rule["type"] == "recording":
            assert prometheus.query(rule["name"]), f"no series for the recording rule {rule['name']}"
    # Every Stoker metric an alert reads is one the services export (a typo parses, but matches nothing).
    used = {name for rule in written for name in re.findall(r"\b(stoker_[a-z0-9_]+)", rule["expr"])}
    exported = {s["metric"]["__name__"] for s in prometheus.query('{__name__=~"stoker_.+"}')}
    assert used - exported == set()


# What the live stack made happen, as the dashboards should show it: (PromQL, expected value).
SCENARIO = [
    ('sum(stoker_attempts_total{queue="crash", cause="crash"})', 1),  # counted by the reaping worker
    ('sum(stoker_attempts_total{queue="default", task="explode", cause="error"})', 3),
    ('max(stoker_queue_jobs{queue="default", state="dead"})', 2),
    ('max(stoker_queue_jobs{queue="default", state="scheduled"})', 1),
    ('max(stoker_queue_paused{queue="held"})', 1),
    ('max(stoker_queue_waiting_jobs{queue="held", priority="high"})', 1),
    ('max(stoker_queue_workers{queue="model"})', 1),
    ('count(stoker_worker_slots{queue="default"})', 2),
    ('sum(stoker_worker_batch_size_count{task="square"})', 1),  # four jobs, one handler call
    ('count(stoker_worker_setup_seconds{task="model"}) > bool 0', 1),
    ('sum(stoker_webhook_deliveries_total{outcome="delivered"})', 1),
    ('sum(stoker_jobs_submitted_total{queue="batch", task="square"})', 4),
    ('sum(stoker_http_request_duration_seconds_count{route="/v1/jobs/{job_id}", status="404"})', 1),
    ('sum(stoker_http_request_duration_seconds_count{route="/readyz", status="503"})', 1),
    ("min(stoker_redis_up) + 10 * max(stoker_redis_up)", 10),  # one replica cut off, one not
]


@pytest.mark.slow
@pytest.mark.parametrize(("expr", "expected"), SCENARIO, ids=[e for e, _ in SCENARIO])
def test_the_live_events_show_in_the_metrics(live_stack: LiveStack, expr: str, expected: float) -> None:
    assert [float(s["value"][1]) for s in live_stack.prometheus.query(expr)] == [expected]
