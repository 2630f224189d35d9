"""Print the third-party dependencies of workspace members, one requirement a line.

The Dockerfiles install these (with ``-c constraints.txt``) from the members' ``pyproject.toml``
alone, before the source is copied, so the dependency layer is rebuilt only when a manifest or a pin
changes. Dependencies on the members named on the command line are left out: they are installed from
their source afterwards.

    python3 deps.py packages/queue/pyproject.toml services/api/pyproject.toml > requirements.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\s\[<>=!~;@(]", requirement.strip(), maxsplit=1)[0]).lower()


def dependencies(manifests: list[Path]) -> list[str]:
    """The members' dependencies, in order, without duplicates or the members themselves."""
    projects = [tomllib.loads(path.read_text())["project"] for path in manifests]
    members = {_name(project["name"]) for project in projects}
    out: list[str] = []
    for project in projects:
        for requirement in project.get("dependencies", []):
            if _name(requirement) not in members and requirement not in out:
                out.append(requirement)
    return out


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: deps.py PYPROJECT.toml...", file=sys.stderr)
        return 2
    print("\n".join(dependencies([Path(arg) for arg in argv])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
