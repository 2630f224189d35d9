"""Write Stoker's Grafana dashboards: ``python -m monitoring.dashboards`` (from the repository root).

One JSON file per dashboard goes to monitoring/dashboards/. ``--check`` writes nothing and exits 1 when a
committed file differs from what the code in monitoring/boards/ generates. docs/operations.md explains
every panel.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from monitoring.boards import api, queues, workers

OUT_DIR = Path(__file__).resolve().parent / "dashboards"
DASHBOARDS: dict[str, Callable[[], str]] = {
    "queues.json": queues.render,
    "workers.json": workers.render,
    "api.json": api.render,
}


def stale(out_dir: Path = OUT_DIR) -> list[str]:
    """The dashboard files in ``out_dir`` that are missing or differ from what would be generated."""
    return [name for name, render in DASHBOARDS.items() if _read(out_dir / name) != render()]


def write(out_dir: Path = OUT_DIR) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, render in DASHBOARDS.items():
        (out_dir / name).write_text(render())


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitoring.dashboards", description="Write the dashboards.")
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed file is out of date")
    args = parser.parse_args(argv)
    if not args.check:
        write()
        return 0
    if names := stale():
        print(f"out of date: {', '.join(names)}; run python -m monitoring.dashboards", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
