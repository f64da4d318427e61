"""`gxp-otel oq`: the OQ suite runs against the installed package and writes signed, tamper-evident evidence."""

from __future__ import annotations

import re
import sys

import orjson
from typer.testing import CliRunner

from gxp_otel.cli import app
from gxp_otel.part11.oq import CLAUSES, SUITE, evaluate, run_oq, verify_evidence
from p11_helpers import PASSPHRASE


def test_oq_writes_passing_evidence_for_every_clause_with_installation_hashes(tmp_path):
    result = CliRunner().invoke(app, ["oq", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    evidence = orjson.loads((tmp_path / "oq-evidence.json").read_bytes())
    assert evidence["result"] == "PASS" and float(evidence["wall_seconds"]) > 0  # recorded; speed is not a unit test
    assert [c["clause"] for c in evidence["clauses"]] == [c.ref for c in CLAUSES]
    assert all(t["outcome"] == "passed" for c in evidence["clauses"] for t in c["tests"])
    assert evidence["environment"]["versions"]["gxp-otel"] != "not installed"
    files = {f["path"]: f["sha256"] for f in evidence["installation"]["files"]}
    assert re.fullmatch(r"[0-9a-f]{64}", files["part11/oq.py"]) and "audit/verifier.py" in files
    page = (tmp_path / "oq-evidence.html").read_text()
    assert "operational qualification: PASS" in page and "21 CFR 11.70" in page


def test_signed_evidence_verifies_and_an_edit_is_detected(tmp_path, alice):
    run_oq(tmp_path, signer=alice, user_id="alice", passphrase=PASSPHRASE)
    assert verify_evidence(tmp_path, alice.public_key) is None
    path = tmp_path / "oq-evidence.json"
    path.write_bytes(path.read_bytes().replace(b'"result":"PASS"', b'"result":"FAIL"', 1))
    assert verify_evidence(tmp_path) == "the evidence file was changed after it was signed"


def test_every_clause_names_tests_that_exist_in_the_suite():
    for clause in CLAUSES:
        for test in clause.tests:
            file, name = test.split("::")
            assert f"def {name}(" in (SUITE / file).read_text(), test


def test_a_failed_or_missing_test_fails_its_clause():
    results = {t: {"outcome": "passed", "seconds": 0.0, "message": ""} for c in CLAUSES for t in c.tests}
    failing = CLAUSES[2].tests[1]
    results[failing]["outcome"] = "failed"
    del results[CLAUSES[0].tests[0]]
    outcome = {c["clause"]: c["result"] for c in evaluate(results)}
    assert outcome[CLAUSES[2].ref] == "FAIL" and outcome[CLAUSES[0].ref] == "FAIL"
    assert list(outcome.values()).count("PASS") == len(CLAUSES) - 2


def test_oq_without_pytest_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pytest", None)
    result = CliRunner().invoke(app, ["oq", "--output", str(tmp_path)])
    assert result.exit_code == 2
    assert "pytest is not installed" in result.output and "gxp-otel[dev]" in result.output

