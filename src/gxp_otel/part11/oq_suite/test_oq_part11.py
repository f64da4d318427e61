"""OQ: electronic signatures, corrections, retention (21 CFR 11.50, 11.70, 11.200, 11.10(e); Annex 11 §9, §17)."""

from __future__ import annotations

import os

import pytest

from gxp_otel.audit.canonical import parse_time
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter
from gxp_otel.part11.corrections import correct
from gxp_otel.part11.esign import sign
from gxp_otel.part11.keys import SignerAuthenticationError
from gxp_otel.part11.oq_suite.conftest import PASSPHRASE, chain_file, records
from gxp_otel.part11.retention import place_hold, purge


def _first_span(trail) -> dict:
    record = next(r for r in records(chain_file(trail)) if r["kind"] == "span")
    return {"stream": record["stream"], "seq": record["seq"], "hash": record["hash"]}


def test_signature_shows_name_time_and_meaning_and_verifies(trail, signer):
    signed = sign(record=_first_span(trail), meaning="approved", reason="OQ", key=signer, user_id="qa.1",
                  passphrase=PASSPHRASE, trail=trail)
    report = verify_trail(trail)
    assert report.ok
    (shown,) = report.part11["signatures"]
    assert (shown["printed_name"], shown["user_id"], shown["meaning"]) == ("Quinn Assurance", "qa.1", "approval")
    assert shown["time"] == signed.statement["time"] and shown["linked"]


def test_signing_needs_user_id_and_passphrase(trail, signer):
    for user_id, passphrase in (("someone.else", PASSPHRASE), ("qa.1", "not the passphrase")):
        with pytest.raises(SignerAuthenticationError):
            sign(record=_first_span(trail), meaning="review", key=signer, user_id=user_id, passphrase=passphrase,
                 trail=trail)


def test_a_signature_cannot_be_transferred_to_another_record(trail, signer, tmp_path):
    sign(record=_first_span(trail), meaning="approval", key=signer, user_id="qa.1", passphrase=PASSPHRASE,
         trail=trail)
    body = next(r for r in records(chain_file(trail, "esign")) if r["kind"] == "signature")["body"]
    writer = AuditTrailWriter(tmp_path / "other", compress=False)
    writer.append("log", [{"x": {"stringValue": "y"}}])
    writer.append("signature", [body])
    writer.close()
    assert [p.kind for p in verify_trail(tmp_path / "other").problems] == ["esignature-link"]


def test_a_correction_keeps_the_original_and_needs_a_reason(trail, signer):
    original = _first_span(trail)
    with pytest.raises(ValueError):
        correct(original, path="/name", new_value="renamed", reason="", key=signer, user_id="qa.1",
                passphrase=PASSPHRASE, trail=trail)
    reference, _signed = correct(original, path="/name", new_value="renamed", reason="OQ correction", key=signer,
                                 user_id="qa.1", passphrase=PASSPHRASE, trail=trail)
    report = verify_trail(trail)
    assert report.ok
    (shown,) = report.part11["corrections"]
    assert shown["old_value"] == "step-0" and shown["new_value"] == "renamed" and shown["reason"] == "OQ correction"
    assert records(chain_file(trail))[int(original["seq"])]["hash"] == original["hash"]


def test_purge_respects_legal_hold_and_leaves_a_verifiable_tombstone(tmp_path, signer):
    now = [1_577_836_800 * 10**9]
    day = 86_400 * 10**9

    def clock():
        now[0] += 1000
        return now[0]

    writer = AuditTrailWriter(tmp_path, stream_id="app.0", compress=False, clock=clock)
    for index in range(4):
        now[0] = 1_577_836_800 * 10**9 + index * day
        writer.append("log", [{"day": {"stringValue": str(index)}}])
    writer.close()
    for path in tmp_path.glob("audit-app.0-*.jsonl"):  # purge also asks the file system how old a file is
        last = records(path)[-1]
        moment = parse_time(last["time"])
        os.utime(path, ns=(moment, moment))
    purge_time = now[0] + 3000 * day
    later = iter(range(purge_time, purge_time + 10**9, 1000))  # the retention stream records after the purge time
    options = dict(before_ns=now[0], reason="OQ", policy="OQ policy", key=signer, user_id="qa.1",
                   passphrase=PASSPHRASE, now_ns=purge_time, writer_options={"clock": lambda: next(later)})
    place_hold(tmp_path, reason="OQ hold", placed_by="qa.1")
    assert purge(tmp_path, **options) == []
    (tmp_path / "legal-hold.json").unlink()
    assert [s.file for s in purge(tmp_path, **options)] == ["audit-app.0-000001.jsonl", "audit-app.0-000002.jsonl",
                                                            "audit-app.0-000003.jsonl"]
    from gxp_otel.part11.keys import load_signer_entry

    purger = load_signer_entry(signer.path.with_name(signer.path.name + ".signer.json"))
    report = verify_trail(tmp_path, purgers=[purger])  # tombstones count only by a registered purger (§12.3)
    assert report.ok and len(report.part11["purges"]) == 3


def test_a_key_cannot_sign_as_another_registered_individual(trail, signer):
    import dataclasses

    from gxp_otel.part11.esign import signature_body
    from gxp_otel.part11.keys import load_signer_entry

    private = signer.unlock("qa.1", PASSPHRASE)
    other = dataclasses.replace(signer, printed_name="Somebody Else", user_id="someone.else")
    writer = AuditTrailWriter(trail, stream_id="esign.0", compress=False)
    writer.append("signature", [signature_body(private, other, _first_span(trail), meaning="approval", reason="",
                                               authentication="all-components", time_ns=1)])
    writer.close()
    registry = [load_signer_entry(signer.path.with_name(signer.path.name + ".signer.json"))]
    assert [p.kind for p in verify_trail(trail, signers=registry).problems] == ["bad-esignature"]
