"""The Go verifier (gxpaudit, no §12 support) still accepts trails with Part 11 records: they are ordinary chained
records. Purged files are `missing-file` to it, which errs on the safe side (docs/audit-format.md §12)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gxp_otel.part11.corrections import correct
from gxp_otel.part11.esign import sign
from gxp_otel.part11.retention import purge
from p11_helpers import DAY_NS, PASSPHRASE, START_NS, daily_trail, lines, small_trail, writer_key

GO_VERIFY = Path(__file__).resolve().parents[2] / "build" / "gxpaudit-verify"
pytestmark = pytest.mark.skipif(not GO_VERIFY.exists(), reason="build/gxpaudit-verify not built (make collector)")


EXIT_CODES = {"VERIFIED": 0, "VERIFIED-SELF-KEYED": 0, "NOT VERIFIED": 1, "UNSEALED-TAIL": 3, "NO RECORDS": 4}  # §13


def go_report(trail: Path, verdict: str) -> dict:
    """The Go verifier's JSON report: its verdict must be `verdict`, with the exit code §13 gives it."""
    done = subprocess.run([str(GO_VERIFY), "--json", str(trail)], capture_output=True, text=True, timeout=60)
    assert done.returncode in set(EXIT_CODES.values()), f"exit {done.returncode}: {done.stderr}"
    report = json.loads(done.stdout)
    assert (report["verdict"], done.returncode) == (verdict, EXIT_CODES[verdict]), report["problems"]
    return report


def test_go_verifier_accepts_signature_and_correction_records(tmp_path, alice):
    writer = small_trail(tmp_path)
    sign({"x": "y"}, meaning="approval", key=alice, user_id="alice", passphrase=PASSPHRASE, trail=writer)
    correct({"stream": "app.0", "seq": "1", "hash": lines(writer.current_file)[1]["hash"]},
            path="/attributes/decision", new_value={"stringValue": "n"}, reason="typo", key=alice,
            user_id="alice", passphrase=PASSPHRASE, trail=writer)
    writer.close()
    report = go_report(tmp_path, "VERIFIED-SELF-KEYED")  # no trust anchor given: the trail's own key
    assert report["ok"] is True and report["problems"] == []


def test_go_verifier_reports_purged_files_as_missing(tmp_path, alice):
    daily_trail(tmp_path, 5)
    purged = purge(tmp_path, before_ns=START_NS + 3 * DAY_NS + DAY_NS // 2, reason="r", policy="p", key=alice,
                   user_id="alice", passphrase=PASSPHRASE, now_ns=START_NS + 3000 * DAY_NS,
                   checkpoint_key=writer_key())
    report = go_report(tmp_path, "NOT VERIFIED")  # no purger registry given: no tombstone is honoured (§12)
    missing = {p["file"] for p in report["problems"] if p["kind"] == "missing-file"}
    assert missing == {s.file for s in purged}
