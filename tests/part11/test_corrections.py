"""Corrections, never edits (11.10(e), Annex 11 §9): the original stays, old and new value and the reason are kept."""

from __future__ import annotations

import pytest

from gxp_otel.audit.verifier import verify_trail
from gxp_otel.part11.corrections import correct
from gxp_otel.part11.keys import SignerAuthenticationError
from p11_helpers import PASSPHRASE, lines, small_trail

PATH = "/attributes/decision"


def _original(writer, seq: int = 2) -> dict[str, str]:
    return {"stream": writer.stream_id, "seq": str(seq), "hash": lines(writer.current_file)[seq]["hash"]}


def test_correction_keeps_the_original_and_records_old_new_value_reason_and_signer(tmp_path, alice):
    writer = small_trail(tmp_path)
    original = _original(writer)
    before = lines(writer.current_file)[2]
    reference, signed = correct(original, path=PATH, new_value={"stringValue": "value 1 (corrected)"},
                                reason="transcription error, see deviation DEV-12", key=alice, user_id="alice",
                                passphrase=PASSPHRASE, trail=writer)
    writer.close()
    records = lines(writer.current_file)
    assert records[2] == before  # never edited
    correction = records[int(reference["seq"])]["body"]
    assert correction["old_value"] == {"stringValue": "value 1"}
    assert correction["new_value"] == {"stringValue": "value 1 (corrected)"}
    assert correction["corrected_by"] == {"printed_name": "Alice Example", "user_id": "alice"}
    assert signed.statement["record"] == reference and signed.statement["meaning"] == "authorship"
    report = verify_trail(tmp_path)
    assert report.ok, report.problems
    (listed,) = report.part11["corrections"]
    assert listed["reason"].startswith("transcription error") and listed["linked"]


def test_a_correction_without_reason_is_refused_and_nothing_is_written(tmp_path, alice):
    writer = small_trail(tmp_path)
    head = writer.head
    with pytest.raises(ValueError, match="reason"):
        correct(_original(writer), path=PATH, new_value={"stringValue": "x"}, reason="  ", key=alice,
                user_id="alice", passphrase=PASSPHRASE, trail=writer)
    with pytest.raises(SignerAuthenticationError):
        correct(_original(writer), path=PATH, new_value={"stringValue": "x"}, reason="typo", key=alice,
                user_id="alice", passphrase="wrong passphrase", trail=writer)
    assert writer.head == head
    writer.close()


def test_second_correction_takes_the_first_ones_new_value_as_old_value(tmp_path, alice):
    writer = small_trail(tmp_path)
    original = _original(writer)
    for new in ("first fix", "second fix"):
        correct(original, path=PATH, new_value={"stringValue": new}, reason=f"make it {new}", key=alice,
                user_id="alice", passphrase=PASSPHRASE, trail=writer)
    writer.close()
    corrections = [r["body"] for r in lines(writer.current_file) if r["kind"] == "correction"]
    assert [c["old_value"]["stringValue"] for c in corrections] == ["value 1", "first fix"]
    assert verify_trail(tmp_path).ok


def test_forged_old_value_is_a_bad_correction(tmp_path):
    writer = small_trail(tmp_path)
    writer.append("correction", [{"original": _original(writer), "path": PATH, "old_value": {"stringValue": "other"},
                                  "new_value": {"stringValue": "x"}, "reason": "r",
                                  "corrected_by": {"printed_name": "A", "user_id": "a"}}])
    writer.close()
    assert [p.kind for p in verify_trail(tmp_path).problems] == ["bad-correction"]


def test_correction_of_a_record_not_in_the_trail_is_a_correction_link_problem(tmp_path):
    writer = small_trail(tmp_path)
    writer.append("correction", [{"original": {**_original(writer), "hash": "ab" * 32}, "path": PATH,
                                  "old_value": {"stringValue": "value 1"}, "new_value": {"stringValue": "x"},
                                  "reason": "r", "corrected_by": {"printed_name": "A", "user_id": "a"}}])
    writer.close()
    assert [p.kind for p in verify_trail(tmp_path).problems] == ["correction-link"]


def test_correction_without_reason_in_the_trail_is_reported(tmp_path):
    writer = small_trail(tmp_path)
    writer.append("correction", [{"original": _original(writer), "path": PATH, "old_value": {"stringValue": "value 1"},
                                  "new_value": {"stringValue": "x"}, "reason": "",
                                  "corrected_by": {"printed_name": "A", "user_id": "a"}}])
    writer.close()
    problems = verify_trail(tmp_path).problems
    assert [p.kind for p in problems] == ["bad-correction"] and "reason" in problems[0].detail
