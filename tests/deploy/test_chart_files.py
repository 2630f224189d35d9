"""The chart's own files: every value documented (in values.yaml and README.md), the schema pointer,
the copies of the monitoring assets unchanged, the chart versioned."""

from __future__ import annotations

import filecmp
import json
import re

import yaml

from tests.deploy.chart import CHART, ROOT

KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?: |$)")


def documented_keys(text: str | None = None) -> tuple[list[str], list[str]]:
    """``(documented, undocumented)`` dotted paths of values.yaml's keys.

    A key is documented by a ``# --`` comment block right above it; the keys under a documented map need
    none. Keys inside list items (examples, defaults of lists) belong to their list.
    """
    documented: list[str] = []
    undocumented: list[str] = []
    stack: list[tuple[int, str, bool]] = []  # (indent, key, documented or under a documented key)
    comment: list[str] = []
    text = (CHART / "values.yaml").read_text() if text is None else text
    lines = text.splitlines()
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped)
            continue
        if not stripped or stripped.startswith("- ") or stripped == "-":
            comment = [] if not stripped else comment
            continue
        match = KEY.match(line)
        if match is None:
            comment = []
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        in_list = any(k == "-" for _, k, _ in stack)
        has_doc = any(c.startswith("# --") for c in comment)
        covered = has_doc or any(d for _, _, d in stack)
        path = ".".join([k for _, k, _ in stack] + [match["key"]])
        value = line.split(":", 1)[1].strip()
        leaf = value != "" or not has_key_children(lines, number, indent)
        if not in_list:
            if has_doc:
                documented.append(path)
            elif leaf and not covered:
                undocumented.append(path)
        stack.append((indent, match["key"], covered))
        comment = []
    return documented, undocumented


def has_key_children(lines: list[str], number: int, indent: int) -> bool:
    """Whether the map at ``lines[number]`` holds keys (not only list items)."""
    for line in lines[number + 1 :]:
        if not line.strip() or line.strip().startswith("#"):
            continue
        child = len(line) - len(line.lstrip())
        if child <= indent:
            return False
        return KEY.match(line) is not None and not line.strip().startswith("-")
    return False


def test_every_value_has_a_doc_comment() -> None:
    documented, undocumented = documented_keys()
    assert len(documented) > 150
    assert undocumented == []


def test_the_doc_check_finds_an_undocumented_key() -> None:
    text = "# -- a map\nknown:\n  nested: 1\nblock:\n  # -- documented\n  a: 1\n  b: 2\n  list:\n    - c: 3\n"
    assert documented_keys(text) == (["known", "block.a"], ["block.b", "block.list"])


def test_every_documented_value_is_in_the_readme() -> None:
    readme = (CHART / "README.md").read_text()
    documented, _ = documented_keys()
    missing = [key for key in documented if f"`{key}`" not in readme]
    assert missing == []


def test_the_values_point_at_the_schema_and_validate_against_it() -> None:
    first = (CHART / "values.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=values.schema.json"
    import jsonschema

    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load((CHART / "values.yaml").read_text()), schema)


def test_the_copied_dashboards_and_rules_match_monitoring() -> None:
    """Helm reads only files inside the chart; `make chart-sync` copies these in."""
    pairs = [(ROOT / "monitoring" / "rules" / "stoker.rules.yaml", CHART / "files" / "rules" / "stoker.rules.yaml")]
    sources = sorted((ROOT / "monitoring" / "dashboards").glob("*.json"))
    pairs += [(s, CHART / "files" / "dashboards" / s.name) for s in sources]
    stale = [
        str(copy.relative_to(ROOT)) for src, copy in pairs if not copy.exists() or not filecmp.cmp(src, copy, False)
    ]
    extra = {p.name for p in (CHART / "files" / "dashboards").glob("*")} - {s.name for s in sources}
    assert (stale, extra) == ([], set()), "run `make chart-sync`"


def test_the_chart_has_a_version_and_an_app_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart["version"])
    worker = (ROOT / "services" / "worker" / "pyproject.toml").read_text()
    assert f'version = "{chart["appVersion"]}"' in worker  # the images carry the packages' version


def test_templates_are_grouped_by_component() -> None:
    top = {p.name for p in (CHART / "templates").iterdir()}
    assert top == {"_helpers.tpl", "NOTES.txt", "api", "worker", "redis", "monitoring", "tests"}
    assert all(
        p.suffix in (".yaml", ".tpl") or p.name == "NOTES.txt" for p in (CHART / "templates").rglob("*") if p.is_file()
    )
