"""``helm lint --strict`` on the defaults and every scenario; the schema and the chart refuse bad values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import SCENARIO_IDS, SCENARIOS, RenderError, lint, render_yaml


def test_lint_strict_with_the_defaults() -> None:
    proc = lint()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize("values", SCENARIOS, ids=SCENARIO_IDS)
def test_lint_strict_with_each_scenario(values: Path) -> None:
    proc = lint(values)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_scenario_named_in_the_brief_exists() -> None:
    expected = {"defaults", "cpu-only", "gpu-pools", "monitors-on", "keda-off", "external-redis-tls"}
    expected |= {"bundled-redis", "ingress-httproute", "scaledjob"}
    assert expected <= set(SCENARIO_IDS)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"api": {"replicaz": 2}}, "replicaz"),  # our own blocks reject unknown keys
        ({"logging": {"format": "xml"}}, "format"),
        ({"workers": {"pools": [{"name": "a", "queues": ["Bad Queue"]}]}}, "queues"),
        ({"workers": {"pools": [{"queues": ["default"]}]}}, "name"),
        ({"workers": {"pools": [{"name": "a", "mode": "cron"}]}}, "mode"),
        ({"workers": {"pools": [{"name": "a", "gpu": {"count": "one"}}]}}, "count"),
        ({"workers": {"pools": [{"name": "a", "settings": {"drain_s": 5}}]}}, "drain_s"),  # the chart sets it
        ({"api": {"settings": {"api_keys": "x" * 16}}}, "api_keys"),  # keys come from the Secret
        ({"auth": {"apiKeys": ["short"]}}, "apiKeys"),
        ({"tracing": {"env": {"NOT_OTEL": "1"}}}, "NOT_OTEL"),
        ({"redisClient": {"redis_url": "redis://x"}}, "redis_url"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_the_schema_refuses(overrides: dict[str, Any], message: str, tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=message):
        render_yaml(overrides, tmp_path)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"workers": {"pools": [{"name": "a"}, {"name": "a"}]}}, "used twice"),
        ({"workers": {"pools": [{"name": "a", "progressDeadlineSeconds": 600}]}}, "must exceed the startup"),
        ({"workers": {"pools": [{"name": "a", "mode": "job", "keda": {"enabled": False}}]}}, "needs keda.enabled"),
        ({"workers": {"pools": [{"name": "a", "queues": ["a-b", "a_b"]}]}}, "same KEDA trigger name"),
        ({"tracing": {"enabled": True}}, "tracing.endpoint"),
        ({"api": {"httpRoute": {"enabled": True}}}, "parentRefs"),
        ({"externalRedis": {"host": ""}}, "externalRedis.host"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_the_templates_refuse(overrides: dict[str, Any], message: str, tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=message):
        render_yaml(overrides, tmp_path)
