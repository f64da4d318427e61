"""The §12 vectors (tests/vectors/part11): exact problems for each case, and the generator reproduces every file."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from vector_runner import vector_problems, verify_vector

HERE = Path(__file__).resolve().parents[1] / "vectors" / "part11"
CASES = sorted(p for p in HERE.iterdir() if p.is_dir() and (p / "expected.json").exists())


def _generator():
    spec = importlib.util.spec_from_file_location("make_part11_vectors", HERE / "make_part11_vectors.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_part11_vector_reports_exactly_the_expected_problems(case):
    expected = json.loads((case / "expected.json").read_text())
    report = verify_vector(case, expected["options"])
    assert vector_problems(report, case) == expected["problems"]
    assert report.ok == expected["ok"] == (not expected["problems"]) and report.verdict == expected["verdict"]


def test_every_case_is_generated_byte_for_byte(tmp_path):
    generator = _generator()
    assert sorted(generator.CASES) == [p.name for p in CASES]
    for case in CASES:
        generator.build(case.name, tmp_path / case.name)
        assert _files(tmp_path / case.name / "trail") == _files(case / "trail"), case.name
