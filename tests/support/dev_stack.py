"""Stopping a ``stoker dev`` process in a test as a user does: Ctrl-C, then its exit code."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest


def interrupt(proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> int:
    """SIGINT, and the exit code; a stack still up after ``timeout_s`` is killed and fails the test."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"stoker dev did not stop within {timeout_s:g} s of Ctrl-C:\n" + log.read_text()[-4000:])
