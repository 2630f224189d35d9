"""The peers' virtualenvs: one per peer under ``build/bench-venvs``, pinned by ``versions.txt``, reused while
the pin is unchanged. Made with ``python3 -m venv --without-pip`` and filled by this virtualenv's pip
(``pip --python``), all peers at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENVS = ROOT / "build" / "bench-venvs"
STAMP = ".bench-pin"


def pins() -> dict[str, list[str]]:
    """Peer -> its exact requirements, in the order of ``versions.txt``."""
    out: dict[str, list[str]] = {}
    for line in (HERE / "versions.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, *reqs = line.split()
            out[name] = reqs
    return out


def version_of(peer: str) -> str:
    """The pinned version of the peer's own package, for the table's header."""
    for req in pins()[peer]:
        name, _, version = req.partition("==")
        if name.split("[")[0].replace("_", "-") == peer:
            return version
    return "?"


def _python(peer: str) -> Path:
    return VENVS / peer / "bin" / "python"


def ready(peer: str) -> bool:
    """Installed, at the pinned versions."""
    stamp = VENVS / peer / STAMP
    return _python(peer).exists() and stamp.exists() and stamp.read_text() == " ".join(pins()[peer])


def ensure(peers: list[str], *, install: bool) -> dict[str, Path]:
    """Peer -> its interpreter, for the peers that are (or, with ``install``, could be made) ready."""
    todo = [p for p in peers if not ready(p)]
    if todo and install:
        print(f"installing into {VENVS}: {', '.join(todo)}", file=sys.stderr, flush=True)
        jobs = []
        for peer in todo:
            venv = VENVS / peer
            subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)], check=True)
            log = (VENVS / f"{peer}.log").open("wb")
            pip = [sys.executable, "-m", "pip", "--python", str(_python(peer)), "install", "-q"]
            pip += ["--disable-pip-version-check", *pins()[peer]]
            jobs.append((peer, subprocess.Popen(pip, stdout=log, stderr=log), log))
        for peer, proc, log in jobs:
            code = proc.wait()
            log.close()
            if code == 0:
                (VENVS / peer / STAMP).write_text(" ".join(pins()[peer]))
            else:
                print(f"{peer}: pip failed, see {log.name}", file=sys.stderr)
    return {p: _python(p) for p in peers if ready(p)}
