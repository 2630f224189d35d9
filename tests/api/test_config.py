"""``stoker-api`` on the command line: --help, and bad settings told clearly with exit 2, keys never shown."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SECRET = "sup3r-s3cret-passw0rd"
KEY = "api-key-0123456789abcdef"


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "REDIS_", "OTEL_", "LOG_"))}
    return subprocess.run(
        [sys.executable, "-m", "stoker_api", *args],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_help_describes_the_command() -> None:
    done = _run("--help")
    assert done.returncode == 0, done.stderr
    assert "stoker-api" in done.stdout and "REDIS_URL" in done.stdout


@pytest.mark.parametrize(
    "env",
    [
        {"REDIS_URL": f"http://user:{SECRET}@redis:6379/0"},
        {"REDIS_URL": f"redis://user:{SECRET}@redis:notaport/0"},
        {"REDIS_URL": f"redis://user:{SECRET}@[::1/0"},
        {"REDIS_URL": f"redis://user:{SECRET}@redis:6379/0", "API_PORT": "http"},
        {"API_SUBMIT_RATE": "fast"},
        {"API_ADMIN_KEYS": "short"},
        {"API_REDIS_TIMEOUT_S": "-1"},
    ],
)
def test_bad_settings_exit_2_with_a_message_and_no_secret(env: dict[str, str]) -> None:
    done = _run(**({"API_API_KEYS": KEY} | env))
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.startswith("stoker-api: invalid settings:"), done.stderr
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stderr + done.stdout and KEY not in done.stderr + done.stdout
