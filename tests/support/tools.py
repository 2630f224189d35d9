"""Binaries the project's own scripts install into ``.tools/bin`` (helm, kubectl, prometheus, promtool, checkov)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

TOOLS_BIN = Path(__file__).resolve().parents[2] / ".tools" / "bin"


def find_tool(name: str) -> str | None:
    """The repo's ``.tools/bin`` first, then ``PATH``."""
    local = TOOLS_BIN / name
    if os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def require_tool(name: str, installer: str) -> str:
    """The tool's path; skips the test where it is missing, but fails in CI, which must install it."""
    path = find_tool(name)
    if path is None:
        message = f"no {name} in {TOOLS_BIN} or on PATH (run {installer})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
