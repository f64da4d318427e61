"""The §12 vectors (tests/vectors/part11): exact problems for each case, and the generator reproduces every file."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from gxp_otel.audit.verifier import verify_trail

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
    options = expected["options"]
    report = verify_trail(case / "trail", trusted_keys=options.get("trusted_keys", []),
                          signers=options.get("signers", []))
    assert [{"file": p.file, "line": p.line, "seq": p.seq, "kind": p.kind} for p in report.problems] == \
        expected["problems"]
    assert report.ok == expected["ok"] == (not expected["problems"])


def test_every_case_is_generated_byte_for_byte(tmp_path):
    generator = _generator()
    assert sorted(generator.CASES) == [p.name for p in CASES]
    for case in CASES:
        generator.build(case.name, tmp_path / case.name)
        assert _files(tmp_path / case.name / "trail") == _files(case / "trail"), case.name
