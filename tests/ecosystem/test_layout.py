"""Issue 13.11: the set-up depends on the instrumentor, never the reverse (one way in for zero-code and one-call)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "gxp_otel"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_instrumentation_package_never_imports_the_set_up():
    offenders = {str(p.relative_to(PACKAGE)): sorted(m for m in _imported_modules(p)
                                                     if m in ("gxp_otel.setup", "gxp_otel.zero_code"))
                 for p in (PACKAGE / "instrumentation").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_zero_code_entry_point_is_the_set_up_s_not_the_instrumentor_s():
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "gxp_llama_index_workflows"]
    assert entry.value == "gxp_otel.zero_code:GxpZeroCodeInstrumentor"
