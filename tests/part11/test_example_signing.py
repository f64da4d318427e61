"""The example's human approval step signs with the reviewer's personal key (21 CFR 11.50/11.70), and verify shows
the manifestation bound to the run's record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pharma_test_generation.py"


def test_the_example_approval_is_electronically_signed_and_verifies(tmp_path):
    env = {**os.environ, "GXP_OTEL_SIGNER_PASSPHRASE": "correct horse battery staple"}
    key = tmp_path / "reviewer.key"
    cli = [sys.executable, "-m", "gxp_otel.cli"]
    subprocess.run([*cli, "keygen", str(key), "--signer", "Quinn Reviewer", "--user-id", "qa.reviewer",
                    "--passphrase-env", "GXP_OTEL_SIGNER_PASSPHRASE"], check=True, env=env, capture_output=True)
    run = subprocess.run([sys.executable, str(EXAMPLE), "--audit-dir", str(tmp_path / "trail"), "--no-otlp",
                          "--signer-key", str(key), "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout)["runs"][0]["result"]["status"] == "approved"
    verified = subprocess.run([*cli, "verify", str(tmp_path / "trail"), "--signer", f"{key}.signer.json"],
                              capture_output=True, text=True, env=env)
    assert verified.returncode == 0, verified.stdout
    assert "signed by Quinn Reviewer (qa.reviewer)" in verified.stdout and "meaning: approval" in verified.stdout


def test_a_wrong_passphrase_writes_no_signature_and_the_run_reports_the_failure(tmp_path):
    env = {**os.environ, "GXP_OTEL_SIGNER_PASSPHRASE": "right passphrase"}
    key = tmp_path / "reviewer.key"
    subprocess.run([sys.executable, "-m", "gxp_otel.cli", "keygen", str(key), "--signer", "Quinn Reviewer",
                    "--user-id", "qa.reviewer", "--passphrase-env", "GXP_OTEL_SIGNER_PASSPHRASE"],
                   check=True, env=env, capture_output=True)
    env["GXP_OTEL_SIGNER_PASSPHRASE"] = "wrong passphrase"
    run = subprocess.run([sys.executable, str(EXAMPLE), "--audit-dir", str(tmp_path / "trail"), "--no-otlp",
                          "--signer-key", str(key)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    trail_text = "".join(p.read_text() for p in (tmp_path / "trail").glob("*.jsonl"))
    assert '"kind":"signature"' not in trail_text
