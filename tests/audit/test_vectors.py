"""The shared vectors (tests/vectors/README.md): the Python writer reproduces every golden file byte for byte, and
the verifier reports exactly the expected problems for every negative vector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gxp_otel.audit.verifier import verify_trail
from vector_runner import VECTORS, run_steps, trail_files

GOLDEN = sorted((VECTORS / "golden").glob("*.json"))
NEGATIVE = sorted(p for p in (VECTORS / "negative").iterdir() if p.is_dir())


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_vector_is_reproduced_byte_for_byte(path, tmp_path):
    vector = json.loads(path.read_text(encoding="utf-8"))
    run_steps(vector, tmp_path)
    assert trail_files(tmp_path) == vector["expected"]["files"]


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_vector_output_verifies(path, tmp_path):
    vector = json.loads(path.read_text(encoding="utf-8"))
    for name, text in vector["expected"]["files"].items():
        (tmp_path / name).write_bytes(text.encode("utf-8"))
    report = verify_trail(tmp_path)
    assert report.ok, report.to_dict()["problems"]


@pytest.mark.parametrize("path", NEGATIVE, ids=[p.name for p in NEGATIVE])
def test_negative_vector_reports_exactly_the_expected_problems(path: Path):
    expected = json.loads((path / "expected.json").read_text())
    options = expected["options"]
    report = verify_trail(
        path / "trail",
        trusted_keys=options.get("trusted_keys", []),
        checkpoint_files=[path / p for p in options.get("checkpoint_files", [])],
    )
    got = [{"file": p.file, "line": p.line, "seq": p.seq, "kind": p.kind} for p in report.problems]
    assert got == expected["problems"]
    assert report.ok == expected["ok"]


def test_every_negative_vector_is_detected():
    for path in NEGATIVE:
        expected = json.loads((path / "expected.json").read_text())
        assert expected["ok"] == (path.name == "intact"), path.name


def test_golden_vectors_cover_every_record_kind_the_writer_emits():
    kinds = set()
    for path in GOLDEN:
        for name, text in json.loads(path.read_text())["expected"]["files"].items():
            if name.endswith(".jsonl") and ".checkpoints." not in name:  # split on \n only: U+2028 is data
                kinds |= {json.loads(line)["kind"] for line in text.split("\n")[:-1]}
    assert kinds == {"genesis", "span", "log", "checkpoint", "rotation", "recovery", "gap"}
