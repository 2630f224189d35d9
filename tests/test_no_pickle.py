"""No pickle anywhere: job data crosses Redis as JSON only. Walks the import graph of the three packages
from their entry points, and every module in them, for the modules that deserialise code."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "stoker_queue": ROOT / "packages" / "queue" / "src" / "stoker_queue",
    "stoker_api": ROOT / "services" / "api" / "src" / "stoker_api",
    "stoker_worker": ROOT / "services" / "worker" / "src" / "stoker_worker",
}
ENTRY_POINTS = ["stoker_api.__main__", "stoker_api.main", "stoker_worker.__main__", "stoker_queue"]
# Modules that turn bytes into live objects (or run code on load).
FORBIDDEN = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "marshal", "shelve", "joblib", "copyreg"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _ours(name: str) -> Path | None:
    top = name.split(".")[0]
    if top not in PACKAGES:
        return None
    spec = importlib.util.find_spec(name) if "." not in name or _is_module(name) else None
    return Path(spec.origin) if spec and spec.origin else None


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False  # `from package import function`: a name, not a module


def test_the_import_graph_holds_no_pickle() -> None:
    seen: dict[str, set[str]] = {}
    todo = list(ENTRY_POINTS)
    while todo:
        name = todo.pop()
        path = _ours(name)
        if path is None or name in seen:
            continue
        seen[name] = _imports(path)
        todo += [n for n in seen[name] if n.split(".")[0] in PACKAGES]
    assert {"stoker_api.main", "stoker_worker.runtime", "stoker_queue.consumer"} <= set(seen)
    offenders = {m: sorted(i for i in imps if i.split(".")[0] in FORBIDDEN) for m, imps in seen.items()}
    assert {m: i for m, i in offenders.items() if i} == {}


def test_no_module_of_ours_imports_pickle_even_off_the_graph() -> None:
    files = [p for root in PACKAGES.values() for p in root.rglob("*.py")]
    assert len(files) > 50
    offenders = {
        str(p.relative_to(ROOT)): sorted(i for i in _imports(p) if i.split(".")[0] in FORBIDDEN) for p in files
    }
    assert {p: i for p, i in offenders.items() if i} == {}
