"""Each workspace member declares what it imports, and the API stays free of torch."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = {
    "stoker_queue": ROOT / "packages" / "queue",
    "stoker_api": ROOT / "services" / "api",
    "stoker_worker": ROOT / "services" / "worker",
    "stoker_client": ROOT / "packages" / "client",
}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(member: Path) -> set[str]:
    project = tomllib.loads((member / "pyproject.toml").read_text())["project"]
    return {_normalize(re.split(r"[\s\[<>=!~;]", dep, maxsplit=1)[0]) for dep in project["dependencies"]}


def _imported_modules(package: str, member: Path) -> set[str]:
    found: set[str] = set()
    for path in (member / "src" / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {package}


@pytest.mark.parametrize("package", sorted(MEMBERS))
def test_every_import_is_a_declared_dependency(package: str) -> None:
    member = MEMBERS[package]
    distributions = packages_distributions()
    declared = _declared(member)
    for module in _imported_modules(package, member):
        owners = {_normalize(d) for d in distributions.get(module, [module])}
        assert owners & declared, f"{package} imports {module} ({owners}) but declares only {sorted(declared)}"


def test_the_api_never_depends_on_or_imports_torch() -> None:
    assert "torch" not in _declared(MEMBERS["stoker_api"])
    code = "import sys, stoker_api.main; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
