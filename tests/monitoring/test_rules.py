"""The Prometheus rules: valid, unit-tested both ways for every alert, and each tied to its runbook."""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from tests.support.prometheus import require_tool

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "monitoring" / "rules" / "stoker.rules.yaml"
RULE_TESTS = ROOT / "monitoring" / "rules" / "stoker.rules_test.yaml"
OPERATIONS = ROOT / "docs" / "operations.md"
RUNBOOKS = "docs/operations.md"
SEVERITIES = {"critical", "warning"}


def _rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


ALERTS = [rule for rule in _rules() if "alert" in rule]


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_tool("promtool"), *args], capture_output=True, text=True, cwd=RULES.parent)


def test_rules_file_is_valid() -> None:
    check = _promtool("check", "rules", RULES.name)
    assert check.returncode == 0, check.stdout + check.stderr


def test_rule_unit_tests_pass() -> None:
    run = _promtool("test", "rules", RULE_TESTS.name)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    """Each alert rule (a name and severity) is seen firing somewhere, and each name seen silent."""
    firing: dict[str, set[str]] = defaultdict(set)
    silent: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            expected = check.get("exp_alerts") or []
            if not expected:
                silent.add(check["alertname"])
            for alert in expected:
                firing[check["alertname"]].add(alert["exp_labels"]["severity"])
    rules = {(a["alert"], a["labels"]["severity"]) for a in ALERTS}
    assert {(name, sev) for name, sev in rules if sev not in firing[name]} == set(), "never shown firing"
    assert {name for name, _ in rules} - silent == set(), "never shown silent"


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: f"{a['alert']}-{a['labels']['severity']}")
def test_alert_is_labelled_annotated_and_linked_to_its_runbook(alert: dict[str, Any]) -> None:
    name = alert["alert"]
    assert alert["labels"]["severity"] in SEVERITIES
    notes = alert["annotations"]
    assert {"summary", "description", "runbook_url"} <= set(notes)
    # The anchor GitHub gives the heading "### <AlertName>": the name in lower case.
    assert notes["runbook_url"] == f"{RUNBOOKS}#{name.lower()}"
    assert re.search(rf"^#+ {name}$", OPERATIONS.read_text(), re.MULTILINE), f"no runbook heading for {name}"
    if "queue" in alert["expr"] and "keda" not in alert["expr"]:
        assert "{{ $labels.queue }}" in notes["summary"]


def test_recording_rules_follow_the_naming_convention() -> None:
    records = [rule["record"] for rule in _rules() if "record" in rule]
    assert records and all(re.fullmatch(r"stoker:[a-z0-9_]+:[a-z0-9_]+", r) for r in records), records
