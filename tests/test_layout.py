"""The library's tree reads as the DAG: layers import downwards only, modules and functions stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from workflow_helpers import REPO

PACKAGE = REPO / "wsss_core"
METHODS = {
    # the modules of each method package, in the order of its DAG: a module imports only earlier ones
    "ctlr": ["training", "cams", "initial_labels", "thresholds", "refresh", "ca_labels", "joint", "refine", "guard"],
    "sonet": ["classes", "source", "objectness", "labels", "stage"],
}
MAX_FILE_LINES, MAX_FUNCTION_LINES = 400, 80


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): path
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def _imports(path: Path) -> set[str]:
    """The wsss_core modules ``path`` imports (``from a import b`` counts as ``a`` and ``a.b``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("wsss_core")}


def _method_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in METHODS else None


def test_every_method_module_is_in_the_dag_order() -> None:
    for method, order in METHODS.items():
        present = sorted(path.stem for path in (PACKAGE / method).glob("*.py") if path.stem != "__init__")
        assert present == sorted(order), method


@pytest.mark.parametrize("module", sorted(_modules()))
def test_imports_point_down_the_dag(module: str) -> None:
    imported = _imports(_modules()[module])
    method = _method_of(module)
    foreign = sorted(name for name in imported if _method_of(name) not in (None, method))
    assert foreign == [], f"{module} imports another method's modules"
    if method is None:
        return
    order = METHODS[method]
    if module == f"wsss_core.{method}":
        return
    position = order.index(module.split(".")[2])
    later = sorted(
        name for name in imported if _method_of(name) == method and name.split(".")[2] in order[position:]
    )
    assert later == [], f"{module} imports its own stage or a later one"


def test_no_importlib_name_tables() -> None:
    offenders = [str(path) for path in PACKAGE.rglob("*.py") if "importlib.import_module" in path.read_text()]
    assert offenders == []


@pytest.mark.parametrize("module", sorted(_modules()))
def test_modules_and_functions_stay_small(module: str) -> None:
    path = _modules()[module]
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_FILE_LINES
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []
