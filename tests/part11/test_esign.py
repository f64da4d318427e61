"""Electronic signatures (21 CFR 11.50, 11.70, 11.100, 11.200): bound to one record, verified, never transferable."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter
from gxp_otel.part11.esign import sign, signature_body
from gxp_otel.part11.keys import SignerAuthenticationError, SignerKey, SigningSession
from p11_helpers import PASSPHRASE, lines, registry_entry, small_trail, writer_key


def _kinds(report) -> list[str]:
    return [p.kind for p in report.problems]


def test_signature_binds_record_and_report_shows_name_time_and_meaning(tmp_path, alice):
    writer = small_trail(tmp_path)
    signed = sign({"suite": "TS-1", "decision": "approved"}, meaning="approved", reason="Reviewed against URS-042",
                  key=alice, user_id="alice", passphrase=PASSPHRASE, trail=writer)
    writer.close()
    report = verify_trail(tmp_path, trusted_keys=[writer_key().public_key_hex], signers=[registry_entry(alice)])
    assert report.ok, report.problems
    (manifest,) = report.part11["signatures"]
    assert manifest["printed_name"] == "Alice Example" and manifest["user_id"] == "alice"
    assert manifest["meaning"] == "approval" and manifest["time"].endswith("Z") and manifest["linked"]
    assert manifest["record"] == {**signed.record, "what": "log 'gxp.esignature.subject'"}
    assert signed.statement["record"]["hash"] == lines(writer.current_file)[int(signed.record["seq"])]["hash"]
    assert "Alice Example (alice)" in signed.manifestation() and "meaning: approval" in signed.manifestation()


@pytest.mark.parametrize("user_id, passphrase", [("bob", PASSPHRASE), ("alice", "wrong passphrase")])
def test_signing_needs_both_components_and_writes_nothing_otherwise(tmp_path, alice, user_id, passphrase):
    writer = small_trail(tmp_path)
    before = writer.head
    with pytest.raises(SignerAuthenticationError, match="user id or passphrase is wrong"):
        sign({"x": "y"}, meaning="review", key=alice, user_id=user_id, passphrase=passphrase, trail=writer)
    assert writer.head == before
    writer.close()


def test_signature_moved_to_another_record_does_not_verify(tmp_path, alice):
    writer = small_trail(tmp_path)
    signed = sign(record={"stream": "app.0", "seq": "1", "hash": lines(writer.current_file)[1]["hash"]},
                  meaning="review", key=alice, user_id="alice", passphrase=PASSPHRASE, trail=writer)
    body = {"statement": {**signed.statement, "record": {"stream": "app.0", "seq": "2",
                                                          "hash": lines(writer.current_file)[2]["hash"]}},
            "signature": orjson.loads(orjson.dumps(lines(writer.current_file)[-1]["body"]["signature"]))}
    writer.append("signature", [body])  # the same signature bytes, re-pointed at another record
    writer.close()
    report = verify_trail(tmp_path)
    assert _kinds(report) == ["bad-esignature"]
    assert "does not verify" in report.problems[0].detail


def test_signature_copied_into_another_trail_is_not_linked(tmp_path, alice):
    writer = small_trail(tmp_path / "a")
    sign({"x": "y"}, meaning="approval", key=alice, user_id="alice", passphrase=PASSPHRASE, trail=writer)
    copied = lines(writer.current_file)[-1]["body"]
    writer.close()
    other = AuditTrailWriter(tmp_path / "b", stream_id="app.0", compress=False)
    other.append("log", [{"x": {"stringValue": "another trail"}}])
    other.append("log", [{"x": {"stringValue": "another trail"}}])
    other.append("signature", [copied])
    other.close()
    report = verify_trail(tmp_path / "b")
    assert _kinds(report) == ["esignature-link"]
    assert report.part11["signatures"][0]["linked"] is False


def test_excised_signature_leaves_a_deleted_gap(tmp_path, alice):
    writer = small_trail(tmp_path)
    sign({"x": "y"}, meaning="approval", key=alice, user_id="alice", passphrase=PASSPHRASE, trail=writer)
    writer.append("log", [{"after": {"stringValue": "the signature"}}])
    path = writer.current_file
    writer.close()
    data = path.read_bytes().splitlines(keepends=True)
    signature_line = next(i for i, raw in enumerate(data) if b'"kind":"signature"' in raw)
    path.write_bytes(b"".join(data[:signature_line] + data[signature_line + 1:]))
    assert "deleted" in _kinds(verify_trail(tmp_path))


def test_edited_signed_record_breaks_the_signature_link(tmp_path, alice):
    writer = small_trail(tmp_path)
    sign(record={"stream": "app.0", "seq": "2", "hash": lines(writer.current_file)[2]["hash"]}, meaning="approval",
         key=alice, user_id="alice", passphrase=PASSPHRASE, trail=writer)
    path = writer.current_file
    writer.close()
    path.write_bytes(path.read_bytes().replace(b"value 1", b"value 9"))
    assert _kinds(verify_trail(tmp_path)) == ["modified", "esignature-link"]


def test_one_key_signing_as_two_individuals_is_reported(tmp_path, alice):
    writer = small_trail(tmp_path)
    sign({"x": "y"}, meaning="approval", key=alice, user_id="alice", passphrase=PASSPHRASE, trail=writer)
    impostor = dataclasses.replace(alice, printed_name="Mallory", user_id="mallory")
    private = alice.unlock("alice", PASSPHRASE)
    body = signature_body(private, impostor, {"stream": "app.0", "seq": "1",
                                              "hash": lines(writer.current_file)[1]["hash"]},
                          meaning="approval", reason="", authentication="all-components", time_ns=1)
    writer.append("signature", [body])
    writer.close()
    report = verify_trail(tmp_path)
    assert _kinds(report) == ["bad-esignature"] and "11.100" in report.problems[0].detail


def test_signer_key_not_among_trusted_keys_is_untrusted(tmp_path, alice, bob):
    writer = small_trail(tmp_path)
    sign({"x": "y"}, meaning="review", key=bob, user_id="bob", passphrase=PASSPHRASE + " bob", trail=writer)
    writer.close()
    report = verify_trail(tmp_path, trusted_keys=[writer_key().public_key_hex], signers=[registry_entry(alice)])
    assert _kinds(report) == ["untrusted-key"]


def test_a_signer_key_given_as_a_writer_trust_anchor_does_not_authorise_signatures(tmp_path, alice):
    """Roles (§1.1): passing the reviewer's key with --trusted-key (to accept their signatures) accepts nothing:
    only the signer registry authorises an e-signature, so that key can never be the way to re-sign checkpoints."""
    writer = small_trail(tmp_path)
    sign({"x": "y"}, meaning="review", key=alice, user_id="alice", passphrase=PASSPHRASE, trail=writer)
    writer.close()
    report = verify_trail(tmp_path, trusted_keys=[writer_key().public_key_hex, alice.public_key])
    assert _kinds(report) == ["untrusted-key"] and "signer registry" in report.problems[0].detail


def test_session_first_signing_all_components_then_passphrase_until_idle_timeout(tmp_path, alice):
    now = [0.0]
    session = SigningSession.open(alice, "alice", PASSPHRASE, idle_timeout=60, clock=lambda: now[0])
    writer = small_trail(tmp_path)
    first = sign({"n": "1"}, meaning="review", passphrase=PASSPHRASE, session=session, trail=writer)
    now[0] = 30
    second = sign({"n": "2"}, meaning="review", passphrase=PASSPHRASE, session=session, trail=writer)
    with pytest.raises(SignerAuthenticationError):
        sign({"n": "x"}, meaning="review", passphrase="not it", session=session, trail=writer)
    now[0] = 200
    with pytest.raises(SignerAuthenticationError, match="session expired"):
        sign({"n": "3"}, meaning="review", passphrase=PASSPHRASE, session=session, trail=writer)
    third = sign({"n": "3"}, meaning="review", passphrase=PASSPHRASE, user_id="alice", session=session, trail=writer)
    writer.close()
    assert [s.statement["authentication"] for s in (first, second, third)] == ["all-components", "session",
                                                                               "all-components"]
    assert verify_trail(tmp_path).ok


def test_signer_key_file_holds_identity_and_no_clear_private_key(alice):
    document = orjson.loads(alice.path.read_bytes())
    assert document["printed_name"] == "Alice Example" and document["user_id"] == "alice"
    assert "BEGIN ENCRYPTED PRIVATE KEY" in document["private_key"]
    assert oct(alice.path.stat().st_mode & 0o777) == "0o600"
    assert SignerKey.load(alice.path).key_id == alice.key_id


def test_unknown_meaning_is_refused(tmp_path, alice):
    writer = small_trail(tmp_path)
    with pytest.raises(ValueError, match="meaning"):
        sign({"x": "y"}, meaning="liked", key=alice, user_id="alice", passphrase=PASSPHRASE, trail=writer)
    writer.close()


@pytest.mark.parametrize("member, value", [
    (("record", "seq"), "1"), (("record", "hash"), "0" * 64), (("signer", "printed_name"), "Alice Exampel"),
    (("signer", "user_id"), "alice2"), (("time",), "2020-01-01T00:00:00.000000000Z"), (("meaning",), "review"),
    (("reason",), "another reason"), (("authentication",), "session"),
    (("public_key",), "ab" * 32), (("key_id",), "ed25519:0000000000000000"),
])
def test_changing_any_signed_member_of_a_statement_is_a_bad_esignature(tmp_path, alice, member, value):
    """Re-recorded with a valid chain, an altered statement still fails: name, time and meaning cannot be edited."""
    writer = small_trail(tmp_path)
    sign({"x": "y"}, meaning="approval", reason="ok", key=alice, user_id="alice", passphrase=PASSPHRASE, trail=writer)
    body = lines(writer.current_file)[-1]["body"]
    target = body["statement"]
    for key in member[:-1]:
        target = target[key]
    assert target[member[-1]] != value
    target[member[-1]] = value
    writer.append("signature", [body])
    writer.close()
    problems = verify_trail(tmp_path).problems
    assert [(p.kind, p.seq) for p in problems] == [("bad-esignature", writer.head[0] - 1)]


def test_with_a_signer_registry_a_key_signing_under_another_identity_is_a_bad_esignature(tmp_path, alice):
    """11.100: the registry (KEY.signer.json, issued under the customer's SOP) binds each key to one individual."""
    from gxp_otel.part11.keys import load_signer_entry

    writer = small_trail(tmp_path)
    impostor = dataclasses.replace(alice, printed_name="Bob Builder", user_id="bob")
    private = alice.unlock("alice", PASSPHRASE)
    reference = {"stream": "app.0", "seq": "1", "hash": lines(writer.current_file)[1]["hash"]}
    writer.append("signature", [signature_body(private, impostor, reference, meaning="approval", reason="",
                                               authentication="all-components", time_ns=1)])
    writer.close()
    registry = [load_signer_entry(alice.path.with_name("alice.key.signer.json"))]
    assert verify_trail(tmp_path).ok  # alone, the first signature of a key cannot be told from an honest one
    problems = verify_trail(tmp_path, signers=registry).problems
    assert [p.kind for p in problems] == ["bad-esignature"] and "registered to Alice Example" in problems[0].detail


def test_with_a_signer_registry_the_registered_identity_decides_not_the_first_signature(tmp_path, alice):
    """§12.1: an impostor's signature first, then the registered signer's own: only the impostor's is flagged."""
    writer = small_trail(tmp_path)
    impostor = dataclasses.replace(alice, printed_name="Bob Builder", user_id="bob")
    private = alice.unlock("alice", PASSPHRASE)
    reference = {"stream": "app.0", "seq": "1", "hash": lines(writer.current_file)[1]["hash"]}
    for identity in (impostor, alice):
        writer.append("signature", [signature_body(private, identity, reference, meaning="approval", reason="",
                                                   authentication="all-components", time_ns=1)])
    writer.close()
    problems = verify_trail(tmp_path, signers=[registry_entry(alice)]).problems
    assert [(p.kind, p.seq) for p in problems] == [("bad-esignature", 4)]
    unchecked = verify_trail(tmp_path)
    assert [(p.kind, p.seq) for p in unchecked.problems] == [("bad-esignature", 5)]  # no registry: the first decides
    assert any("own claims" in n for s in unchecked.streams for n in s.notes)


def test_with_a_signer_registry_an_unregistered_signer_is_untrusted(tmp_path, alice, bob):
    from gxp_otel.part11.keys import load_signer_entry

    writer = small_trail(tmp_path)
    sign({"x": "y"}, meaning="review", key=bob, user_id="bob", passphrase=PASSPHRASE + " bob", trail=writer)
    sign({"x": "y"}, meaning="review", key=alice, user_id="alice", passphrase=PASSPHRASE, trail=writer)
    writer.close()
    registry = [load_signer_entry(alice.path.with_name("alice.key.signer.json"))]
    assert [p.kind for p in verify_trail(tmp_path, signers=registry).problems] == ["untrusted-key"]
