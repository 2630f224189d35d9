"""The API's wheel ships the web view's files and needs the package that ships Swagger UI's."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
STATIC = ROOT / "services" / "api" / "src" / "stoker_api" / "ui" / "static"


def test_the_wheel_holds_every_static_file_and_requires_swagger_ui(tmp_path: Path) -> None:
    # Built from a copy: a build in the tree would leave build/ and egg-info behind for everyone else.
    source = tmp_path / "api"
    shutil.copytree(
        ROOT / "services" / "api", source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("stoker_api-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = Parser().parsestr(archive.read(metadata).decode()).get_all("Requires-Dist") or []
    shipped = {f"stoker_api/ui/static/{p.name}" for p in STATIC.iterdir()}
    assert {"stoker_api/ui/static/index.html", "stoker_api/ui/static/app.js"} <= shipped
    assert shipped <= names, sorted(shipped - names)
    assert any(r.startswith("swagger-ui-bundle-v2") for r in requires), requires
