"""The shared vectors (tests/vectors/README.md): the Python writer reproduces every golden file byte for byte, and
the verifier reports exactly the expected problems for every negative vector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gxp_otel.audit.verifier import verify_trail
from vector_runner import VECTORS, run_steps, trail_files, vector_problems, verify_vector

GOLDEN = sorted((VECTORS / "golden").glob("*.json"))
GOLDEN_V1 = sorted((VECTORS / "golden-v1").glob("*.json"))
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


@pytest.mark.parametrize("path", GOLDEN_V1, ids=[p.stem for p in GOLDEN_V1])
def test_version_1_trails_still_verify(path, tmp_path):
    """Format version 1 outputs of the writers before version 2 (kept unchanged): still intact, self-keyed, and
    anchored when they were signed (regulated trails live for years)."""
    vector = json.loads(path.read_text(encoding="utf-8"))
    for name, text in vector["expected"]["files"].items():
        (tmp_path / name).write_bytes(text.encode("utf-8"))
    assert '"format":"gxp-otel-audit/1"' in next(iter(vector["expected"]["files"].values()))
    report = verify_trail(tmp_path)
    assert report.verdict == "VERIFIED-SELF-KEYED", report.to_dict()["problems"]
    seed = vector["writer"]["signing_key_seed"]
    if seed:
        from gxp_otel.audit.signing import CheckpointSigner

        anchored = verify_trail(tmp_path, trusted_keys=[CheckpointSigner.from_seed(seed).public_key_hex])
        assert anchored.verdict == "VERIFIED", anchored.to_dict()["problems"]


@pytest.mark.parametrize("path", NEGATIVE, ids=[p.name for p in NEGATIVE])
def test_negative_vector_reports_exactly_the_expected_problems(path: Path):
    expected = json.loads((path / "expected.json").read_text())
    report = verify_vector(path, expected["options"])
    assert vector_problems(report, path) == expected["problems"]
    assert report.ok == expected["ok"] and report.verdict == expected["verdict"]


def test_every_negative_vector_is_detected():
    """Only the intact trails, a clock stepped back (a note, not a problem, §10.2) and the two identical copies a
    crash during compression leaves (§2) verify."""
    verified = {"intact", "intact-self-keyed", "intact-v1", "intact-v1-self-keyed", "time-goes-backwards@seq-3",
                "gz-copy-identical-to-plain"}
    for path in NEGATIVE:
        expected = json.loads((path / "expected.json").read_text())
        assert expected["ok"] == (path.name in verified), path.name


def test_golden_vectors_cover_every_record_kind_the_writer_emits():
    kinds = set()
    for path in GOLDEN:
        for name, text in json.loads(path.read_text())["expected"]["files"].items():
            if name.endswith(".jsonl") and ".checkpoints." not in name:  # split on \n only: U+2028 is data
                kinds |= {json.loads(line)["kind"] for line in text.split("\n")[:-1]}
    assert kinds == {"genesis", "span", "log", "checkpoint", "rotation", "recovery", "gap"}
