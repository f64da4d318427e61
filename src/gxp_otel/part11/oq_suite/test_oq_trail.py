"""OQ: the audit trail records, protects and reports (21 CFR 11.10(a)-(e), Annex 11 §7, §9, §12.4, ALCOA+)."""

from __future__ import annotations

import json
import os
import stat

from typer.testing import CliRunner

from gxp_otel.audit.signing import CheckpointSigner
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter
from gxp_otel.part11.oq_suite.conftest import chain_file, records


def test_trail_verifies_with_signed_checkpoints_under_the_trusted_key(base_trail, writer_key):
    report = verify_trail(base_trail, trusted_keys=[writer_key.public_key_hex])
    assert report.ok and report.records == 12 + 1 + report.streams[0].checkpoints
    assert report.streams[0].signed_checkpoints >= 3 and report.streams[0].closed


def test_records_are_attributed_and_time_stamped_in_utc(base_trail):
    spans = [r for r in records(chain_file(base_trail)) if r["kind"] == "span"]
    assert len(spans) == 12
    assert all(r["body"]["gxp"]["user_id"] == "qa.author" for r in spans)
    assert all(r["time"].endswith("Z") and len(r["time"]) == 30 for r in spans)
    assert all(int(r["body"]["end_time_unix_nano"]) >= int(r["body"]["start_time_unix_nano"]) for r in spans)


def test_a_modified_record_is_detected(trail):
    path = chain_file(trail)
    path.write_bytes(path.read_bytes().replace(b'"step-3"', b'"step-X"', 1))
    assert "modified" in [p.kind for p in verify_trail(trail).problems]


def test_a_deleted_record_is_detected(trail):
    path = chain_file(trail)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:5] + lines[6:]))
    assert "deleted" in [p.kind for p in verify_trail(trail).problems]


def test_a_cut_tail_is_detected_from_a_checkpoint_held_elsewhere(trail, tmp_path):
    held = tmp_path / "held.jsonl"
    (checkpoints,) = trail.glob("*.checkpoints.jsonl")
    held.write_bytes(checkpoints.read_bytes())
    path = chain_file(trail)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-4]))
    checkpoints.write_bytes(b"".join(checkpoints.read_bytes().splitlines(keepends=True)[:-1]))
    assert "truncated" in [p.kind for p in verify_trail(trail, checkpoint_files=[held]).problems]


def test_a_chain_resealed_with_another_key_is_untrusted(trail, writer_key):
    other = CheckpointSigner.from_seed("11" * 32)
    stream = records(chain_file(trail))[0]["stream"]
    writer = AuditTrailWriter(trail, signing_key=other, compress=False, stream_id=stream)
    writer.append("log", [{"forged": {"stringValue": "after the fact"}}])
    writer.close()
    kinds = [p.kind for p in verify_trail(trail, trusted_keys=[writer_key.public_key_hex]).problems]
    assert "untrusted-key" in kinds


def test_losses_before_the_trail_are_recorded_as_gaps(tmp_path):
    writer = AuditTrailWriter(tmp_path, compress=False)
    writer.note_loss("spans", 3, "queue full")
    writer.append("log", [{"x": {"stringValue": "y"}}])
    writer.close()
    report = verify_trail(tmp_path)
    assert report.ok and report.streams[0].lost == {"spans": 3}


def test_trail_files_are_private_to_the_writer(base_trail):
    assert stat.S_IMODE(os.stat(base_trail).st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in base_trail.glob("audit-*.jsonl"))


def test_alcoa_findings_are_computed_for_every_record(base_trail):
    alcoa = verify_trail(base_trail, alcoa=True).alcoa
    assert alcoa["records_assessed"] == 12
    for principle in ("attributable", "legible", "original", "accurate", "complete", "consistent", "enduring",
                      "available"):
        assert alcoa["principles"][principle]["failed"] == 0, principle


def test_verify_prints_a_readable_report_and_exact_json(base_trail):
    from gxp_otel.cli import app

    text = CliRunner().invoke(app, ["verify", str(base_trail)])
    assert text.exit_code == 0 and "VERIFIED" in text.output
    data = CliRunner().invoke(app, ["verify", "--json", str(base_trail)])
    assert data.exit_code == 0 and json.loads(data.output)["ok"] is True
