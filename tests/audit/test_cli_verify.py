"""`gxp-otel verify` and `gxp-otel keygen` as a user runs them: exit codes, --json, plain sentences."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gxp_otel.audit.writer import AuditTrailWriter

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "negative"


def gxp(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gxp_otel.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture()
def signed_trail(tmp_path):
    key = tmp_path / "writer.pem"
    assert gxp("keygen", str(key)).returncode == 0
    writer = AuditTrailWriter(tmp_path / "trail", signing_key=key)
    writer.append("log", [{"gxp": {"user_id": "u"}}])
    writer.close()
    return tmp_path


def test_intact_trail_exits_0_and_says_verified(signed_trail):
    result = gxp("verify", str(signed_trail / "trail"), "--trusted-key", str(signed_trail / "writer.pem.pub"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in result.stdout and "NOT VERIFIED" not in result.stdout


def test_json_output_has_the_documented_members(signed_trail):
    result = gxp("verify", str(signed_trail / "trail"), "--json")
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["records"] == 3 and report["chains"] == 1 and report["files"] == 1
    assert report["problems"] == []


def test_tampered_trail_exits_1_and_names_file_line_seq_and_kind():
    result = gxp("verify", str(VECTORS / "modified-body@seq-3" / "trail"), "--json")
    assert result.returncode == 1
    problem = json.loads(result.stdout)["problems"][0]
    assert (problem["file"], problem["line"], problem["seq"], problem["kind"]) == (
        "audit-vec.0-000001.jsonl", 4, 3, "modified")
    plain = gxp("verify", str(VECTORS / "modified-body@seq-3" / "trail"))
    assert "NOT VERIFIED" in plain.stdout and "line 4 seq 3" in plain.stdout


def test_usage_errors_exit_2(tmp_path):
    assert gxp("verify", str(tmp_path / "absent")).returncode == 2
    assert gxp("verify", str(tmp_path), "--trusted-key", "not-a-key").returncode == 2


def test_alcoa_table_lists_every_principle(signed_trail):
    result = gxp("verify", str(signed_trail / "trail"), "--alcoa", "--json")
    principles = json.loads(result.stdout)["alcoa"]["principles"]
    assert list(principles) == ["attributable", "legible", "contemporaneous", "original", "accurate", "complete",
                                "consistent", "enduring", "available"]


def test_keygen_never_overwrites_a_key(signed_trail):
    assert gxp("keygen", str(signed_trail / "writer.pem")).returncode == 2


def test_every_verdict_has_its_word_and_exit_code(signed_trail, tmp_path):
    """docs/audit-format.md §13: VERIFIED 0, VERIFIED-SELF-KEYED 0 (with the caution on every output), NOT VERIFIED
    1, UNSEALED-TAIL 3, NO RECORDS 4 (an empty directory is never verified)."""
    trail, key = str(signed_trail / "trail"), str(signed_trail / "writer.pem.pub")
    anchored = gxp("verify", trail, "--trusted-key", key)
    assert anchored.returncode == 0 and anchored.stdout.startswith("VERIFIED:") and "caution" not in anchored.stdout
    self_keyed = gxp("verify", trail)
    assert self_keyed.returncode == 0 and self_keyed.stdout.startswith("VERIFIED-SELF-KEYED:")
    assert "caution: no --trusted-key given" in self_keyed.stdout and "forged stream" in self_keyed.stdout
    as_json = json.loads(gxp("verify", trail, "--json").stdout)
    assert as_json["verdict"] == "VERIFIED-SELF-KEYED" and "forged stream" in as_json["caveat"]
    empty = tmp_path / "unmounted"
    empty.mkdir()
    nothing = gxp("verify", str(empty))
    assert nothing.returncode == 4 and nothing.stdout.startswith("NO RECORDS:") and "nothing to verify" in nothing.stdout
    live = VECTORS / "unsealed-tail"
    expected = json.loads((live / "expected.json").read_text())
    unsealed = gxp("verify", str(live / "trail"), "--trusted-key", expected["options"]["trusted_keys"][0])
    assert unsealed.returncode == 3 and unsealed.stdout.startswith("UNSEALED-TAIL:")
    assert "verified through seq 15; 2 record(s) not yet sealed" in unsealed.stdout
