"""``stoker dev`` refuses bad values with one line and exit 2, before it starts anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stoker_client.cli.common import ExitCode

ROOT = Path(__file__).resolve().parents[2]
STOKER = str(Path(sys.executable).parent / "stoker")


@pytest.mark.parametrize(
    ("args", "where", "message"),
    [
        (
            [],
            "tmp",
            "cannot read charts/stoker/values.yaml: No such file or directory (run it from the repository's root",
        ),
        (["-f", "nowhere.yaml"], "root", "cannot read nowhere.yaml"),
        (["--queue", "reports"], "root", "--queue names the queues of the --tasks pool; give --tasks too"),
    ],
)
def test_a_values_error_is_one_line_and_exit_2(tmp_path: Path, args: list[str], where: str, message: str) -> None:
    ran = subprocess.run(
        [STOKER, "dev", "--no-table", *args],
        cwd=tmp_path if where == "tmp" else ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == ExitCode.USAGE
    assert ran.stderr.startswith("stoker: error: ") and message in ran.stderr
    assert ran.stderr.count("\n") == 1 and ran.stdout == ""
