"""Red team across verifiers (issue 16), trust logic: checkpoint statements and signatures (§7, §10.4), held
copies (§10.5), trust anchors and key changes (§1.1, §6.2), order and sealing (§10.3, §10.6). Every hostile trail is
verified on every path (cross_verifier_helpers.every_path: Python in one process and with two workers, and Go), which
must agree with each other and with the spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import orjson
import pytest

from attack_helpers import Clock, K, log, writer
from cross_verifier_helpers import (  # noqa: F401 (short_runs: the autouse fixture)
    ANCHORED, CP, F1, K2, SELF, every_path, forge, short_runs, two_checkpoints,
)
from gxp_otel.audit.canonical import canonical_json
from gxp_otel.audit.signing import CheckpointSigner


# ----------------------------------------------------------------- checkpoint records (§10.4), writer key held


def resigned(change: Callable[[dict], None]) -> Callable[[dict], None]:
    """The interval checkpoint's statement changed and signed again with the writer's key."""
    def post(record: dict) -> None:
        if record["kind"] == "checkpoint" and record["seq"] == "4":
            statement = record["body"]["statement"]
            change(statement)
            record["body"]["signature"] = K.sign(statement)
    return post


def body_edit(change: Callable[[dict], None]) -> Callable[[dict], None]:
    def post(record: dict) -> None:
        if record["kind"] == "checkpoint" and record["seq"] == "4":
            change(record["body"])
    return post


def other_serialisation(body: dict) -> None:
    """Signed over Python's json.dumps of the statement (spaces, insertion order), not its JCS bytes."""
    message = b"gxp-otel:checkpoint:v1\x00" + json.dumps(body["statement"]).encode()
    body["signature"] = K.private_key.sign(message).hex()


MAL = [(F1, 5, 4, "malformed"), (CP, 1, None, "bad-checkpoint-file")]
MISMATCH = [(F1, 5, 4, "checkpoint-mismatch")]
BAD_SIG = [(F1, 5, 4, "bad-signature"), (CP, 1, 3, "bad-checkpoint-file")]
CHECKPOINT_ATTACKS = {
    "an extra member": (resigned(lambda s: s.update(extra="x")), MAL),
    "no reason": (resigned(lambda s: s.pop("reason")), MAL),
    "no genesis": (resigned(lambda s: s.pop("genesis")), MAL),
    "seq true": (resigned(lambda s: s.update(seq=True)), MAL),
    "seq null": (resigned(lambda s: s.update(seq=None)), MAL),
    "seq an object": (resigned(lambda s: s.update(seq={"n": "3"})), MAL),
    "seq with a leading zero": (resigned(lambda s: s.update(seq="03")), MAL),
    "head in capitals": (resigned(lambda s: s.update(head=s["head"].upper())), MAL),
    "genesis in capitals": (resigned(lambda s: s.update(genesis=s["genesis"].upper())), MAL),
    "reason not of §7": (resigned(lambda s: s.update(reason="bogus")), MAL),
    "reason empty": (resigned(lambda s: s.update(reason="")), MAL),
    "format v1 in a v2 stream": (resigned(lambda s: s.update(format="gxp-otel-audit/1")), MAL),
    "retention_days with a leading zero": (resigned(lambda s: s.update(retention_days="02555")), MAL),
    "stream false": (resigned(lambda s: s.update(stream=False)), MAL),
    "retention_days not the genesis's": (resigned(lambda s: s.update(retention_days="1")), MISMATCH),
    "a file that does not exist": (resigned(lambda s: s.update(file="audit-app.0-000009.jsonl")), MISMATCH),
    "the file's .gz name": (resigned(lambda s: s.update(file=F1 + ".gz")), MISMATCH),
    "a time not the record's": (resigned(lambda s: s.update(time="2020-01-01T00:00:00.000000000Z")), MISMATCH),
    "a later seq than present": (resigned(lambda s: s.update(seq="99")),
                                 MISMATCH + [(F1, 9, 99, "truncated")]),
    "another stream": (resigned(lambda s: s.update(stream="app.1")), MISMATCH + [(CP, 1, 3, "bad-checkpoint-file")]),
    "a key id not the key's": (body_edit(lambda b: b.update(key_id="ed25519:0000000000000000")), BAD_SIG),
    "the key id in capitals": (body_edit(lambda b: b.update(key_id=b["key_id"].upper())), BAD_SIG),
    "the signature in capitals": (body_edit(lambda b: b.update(signature=b["signature"].upper())), BAD_SIG),
    "the signature cut short": (body_edit(lambda b: b.update(signature=b["signature"][:-2])), BAD_SIG),
    "the signature not hex": (body_edit(lambda b: b.update(signature="zz" * 64)), BAD_SIG),
    "the signature empty": (body_edit(lambda b: b.update(signature="")), BAD_SIG),
    "unsigned (none) in a signed stream": (body_edit(lambda b: b.update(signature="", key_id="none")), BAD_SIG),
    "signed over another serialisation": (body_edit(other_serialisation), BAD_SIG),
    "an extra body member": (body_edit(lambda b: b.update(extra="x")), MAL),
    "key_id an object": (body_edit(lambda b: b.update(key_id={"a": "b"})), MAL),
    "signature a list": (body_edit(lambda b: b.update(signature=["x"])), MAL),
    "statement a string": (body_edit(lambda b: b.update(statement="x")), MAL),
    "statement a list": (body_edit(lambda b: b.update(statement=[])), MAL),
    "reason close mid-stream": (resigned(lambda s: s.update(reason="close")), [(F1, 6, 5, "after-close")]),
}


@pytest.mark.parametrize("options", [ANCHORED, SELF], ids=["anchored", "self-keyed"])
@pytest.mark.parametrize("attack", list(CHECKPOINT_ATTACKS))
def test_odd_checkpoint_statements_get_the_spec_problem_on_every_path(tmp_path: Path, attack: str,
                                                                      options: dict) -> None:
    """CAUGHT (all 34, anchored and self-keyed): members extra, missing or of the wrong type, hex in capitals,
    values of the wrong form are `malformed` (and their local line `bad-checkpoint-file`, seq null); values that
    differ from the chain are `checkpoint-mismatch`; a key id, signature or serialisation that is not the key in
    force's is `bad-signature`. Self-keyed, an unsigned (`none`) local line passes, so only the record is reported."""
    directory = tmp_path / "trail"
    two_checkpoints(directory)
    post, expected = CHECKPOINT_ATTACKS[attack]
    forge(directory, post=post)
    if attack == "unsigned (none) in a signed stream" and not options:
        expected = expected[:1]
    assert every_path(directory, tmp_path, options) == ("NOT VERIFIED", expected)


# ------------------------------------------------------------------------------ held copies (§10.5), anchored


def held_line(statement: dict, key: CheckpointSigner = K) -> bytes:
    return canonical_json({"statement": statement, "key_id": key.key_id, "signature": key.sign(statement)})


def restated(line: bytes, sign: bool = True, **change: str) -> bytes:
    body = orjson.loads(line)
    body["statement"].update(change)
    return held_line(body["statement"]) if sign else canonical_json(body)


def as_v1(line: bytes, **change: str) -> bytes:
    statement = {k: v for k, v in orjson.loads(line)["statement"].items() if k not in ("genesis", "retention_days")}
    return held_line({**statement, "format": "gxp-otel-audit/1", **change})


def genesis_hash(directory: Path) -> str:
    return orjson.loads((directory / F1).read_bytes().splitlines()[0])["hash"]


W = "worm/" + CP
HELD_ATTACKS: dict[str, tuple[Callable[[list[bytes], Path], bytes], tuple]] = {
    "CRLF line ends": (lambda L, d: b"".join(x + b"\r\n" for x in L),
                       ("NOT VERIFIED", [(W, 1, None, "bad-checkpoint-file"), (W, 2, None, "bad-checkpoint-file")])),
    "a blank line": (lambda L, d: L[0] + b"\n\n" + L[1] + b"\n",
                     ("NOT VERIFIED", [(W, 2, None, "bad-checkpoint-file")])),
    "no final newline": (lambda L, d: b"\n".join(L), ("NOT VERIFIED", [(W, 2, None, "bad-checkpoint-file")])),
    "a byte order mark": (lambda L, d: b"\xef\xbb\xbf" + L[0] + b"\n" + L[1] + b"\n",
                          ("NOT VERIFIED", [(W, 1, None, "bad-checkpoint-file")])),
    "seq -1": (lambda L, d: restated(L[0], seq="-1") + b"\n" + L[1] + b"\n",
               ("NOT VERIFIED", [(W, 1, None, "bad-checkpoint-file")])),
    "seq +3": (lambda L, d: restated(L[0], seq="+3") + b"\n" + L[1] + b"\n",
               ("NOT VERIFIED", [(W, 1, None, "bad-checkpoint-file")])),
    "seq above int64": (lambda L, d: restated(L[0], seq="9223372036854775808") + b"\n" + L[1] + b"\n",
                        ("NOT VERIFIED", [(W, 1, None, "bad-checkpoint-file")])),
    "seq int64 max": (lambda L, d: restated(L[0], seq="9223372036854775807") + b"\n" + L[1] + b"\n",
                      ("NOT VERIFIED", [(F1, 9, 9223372036854775807, "truncated")])),
    "February 30": (lambda L, d: restated(L[0], time="2020-02-30T00:00:00.000000000Z") + b"\n" + L[1] + b"\n",
                    ("NOT VERIFIED", [(W, 1, None, "bad-checkpoint-file")])),
    "a time without nanoseconds": (lambda L, d: restated(L[0], time="2020-01-01T00:00:00Z") + b"\n" + L[1] + b"\n",
                                   ("NOT VERIFIED", [(W, 1, None, "bad-checkpoint-file")])),
    "a reason not of §7": (lambda L, d: restated(L[0], reason="bogus") + b"\n" + L[1] + b"\n",
                           ("NOT VERIFIED", [(W, 1, None, "bad-checkpoint-file")])),
    "a stream the trail lacks": (lambda L, d: L[0] + b"\n" + L[1] + b"\n" + restated(L[0], stream="app.1") + b"\n",
                                 ("NOT VERIFIED", [(W, 3, None, "missing-stream")])),
    "another genesis (another trail)": (
        lambda L, d: L[0] + b"\n" + L[1] + b"\n" + restated(L[0], genesis="a" * 64) + b"\n",
        ("NOT VERIFIED", [(W, 3, None, "missing-stream")])),
    "a forged line of a stream the trail lacks": (
        lambda L, d: L[0] + b"\n" + L[1] + b"\n" + restated(L[1], sign=False, stream="app.1") + b"\n",
        ("NOT VERIFIED", [(W, 3, None, "missing-stream")])),
    "a later seq": (lambda L, d: L[0] + b"\n" + L[1] + b"\n" + restated(L[1], seq="20") + b"\n",
                    ("NOT VERIFIED", [(F1, 9, 20, "truncated")])),
    "a later seq, forged": (lambda L, d: L[0] + b"\n" + L[1] + b"\n" + restated(L[1], sign=False, seq="20") + b"\n",
                            ("NOT VERIFIED", [(F1, 9, 20, "truncated"), (W, 3, 20, "bad-checkpoint-file")])),
    "another head (the reference)": (
        lambda L, d: restated(L[0], head="b" * 64) + b"\n" + L[1] + b"\n",
        ("NOT VERIFIED", [(F1, 4, 3, "rewritten"), (CP, 1, 3, "held-conflict")])),
    "two later conflicting lines": (
        lambda L, d: L[0] + b"\n" + restated(L[0], head="d" * 64) + b"\n" + L[1] + b"\n"
        + restated(L[0], head="e" * 64) + b"\n",
        ("NOT VERIFIED", [(W, 2, 3, "held-conflict"), (W, 4, 3, "held-conflict")])),
    "a version 1 line of a version 2 stream": (lambda L, d: as_v1(L[0]) + b"\n" + L[1] + b"\n", ("VERIFIED", [])),
    "a version 1 line with another head": (
        lambda L, d: as_v1(L[0], head="c" * 64) + b"\n" + L[1] + b"\n",
        ("NOT VERIFIED", [(F1, 4, 3, "rewritten"), (CP, 1, 3, "held-conflict")])),
    "a version 1 line of a stream the trail lacks": (
        lambda L, d: L[0] + b"\n" + L[1] + b"\n" + as_v1(L[0], stream="app.1") + b"\n",
        ("NOT VERIFIED", [(W, 3, None, "missing-stream")])),
    "a line for the genesis seq": (
        lambda L, d: L[0] + b"\n" + restated(L[0], seq="0", head=genesis_hash(d)) + b"\n" + L[1] + b"\n",
        ("VERIFIED", [])),
    "a line naming another file": (lambda L, d: restated(L[0], file="audit-app.0-000007.jsonl") + b"\n" + L[1] + b"\n",
                                   ("VERIFIED", [])),
    "unsigned (none)": (
        lambda L, d: canonical_json({"statement": orjson.loads(L[0])["statement"], "key_id": "none",
                                     "signature": ""}) + b"\n" + L[1] + b"\n",
        ("NOT VERIFIED", [(W, 1, 3, "bad-checkpoint-file")])),
    "signed by another key": (lambda L, d: held_line(orjson.loads(L[0])["statement"], K2) + b"\n" + L[1] + b"\n",
                              ("NOT VERIFIED", [(W, 1, 3, "bad-checkpoint-file")])),
    "another key's id on the writer's signature": (
        lambda L, d: canonical_json({**orjson.loads(L[0]), "key_id": K2.key_id}) + b"\n" + L[1] + b"\n",
        ("NOT VERIFIED", [(W, 1, 3, "bad-checkpoint-file")])),
    "garbage between lines": (lambda L, d: L[0] + b"\ngarbage\n" + L[1] + b"\n",
                              ("NOT VERIFIED", [(W, 2, None, "bad-checkpoint-file")])),
    "an empty copy": (lambda L, d: b"", ("VERIFIED", [])),
}


@pytest.mark.parametrize("attack", list(HELD_ATTACKS))
def test_odd_held_copies_get_the_spec_problem_on_every_path(tmp_path: Path, attack: str) -> None:
    """CAUGHT (all 28): the auditor's copy (`--checkpoints`) with line ends, forms, streams, identities, heads,
    versions and keys that differ from what the writer wrote. A held line is about its seq and head only (its
    `file` is not compared); a line for an absent stream is `missing-stream` and, having no chain, no signature
    check."""
    directory = tmp_path / "trail"
    two_checkpoints(directory)
    lines = (directory / CP).read_bytes().splitlines()
    (tmp_path / "worm").mkdir()
    held = tmp_path / W
    make, expected = HELD_ATTACKS[attack]
    held.write_bytes(make(lines, directory))
    assert every_path(directory, tmp_path, {**ANCHORED, "checkpoint_files": [str(held)]}) == expected


def test_two_held_copies_the_first_given_is_the_reference(tmp_path: Path) -> None:
    """CAUGHT: the first `--checkpoints` file given names seq 3 with another head: the chain is `rewritten` against
    it and the later (true) lines, the second copy's and the local one, are `held-conflict`."""
    directory = tmp_path / "trail"
    w = writer(directory)
    for i in range(3):
        w.append("log", [log(f"r{i}")])
    w.close()
    line = (directory / CP).read_bytes().splitlines()[0]
    (tmp_path / "w1.jsonl").write_bytes(restated(line, head="a" * 64) + b"\n")
    (tmp_path / "w2.jsonl").write_bytes(line + b"\n")
    options = {**ANCHORED, "checkpoint_files": [str(tmp_path / "w1.jsonl"), str(tmp_path / "w2.jsonl")]}
    assert every_path(directory, tmp_path, options) == ("NOT VERIFIED", [
        (F1, 4, 3, "rewritten"), (CP, 1, 3, "held-conflict"), ("w2.jsonl", 1, 3, "held-conflict")])


# ------------------------------------------------------------------- trust anchors and key changes (§1.1, §6.2)


def two_sessions(directory: Path, first: CheckpointSigner | None, second: CheckpointSigner | None,
                 close_first: bool = True) -> None:
    clock = Clock()
    w = writer(directory, clock=clock, signing_key=first)
    for i in range(3):
        w.append("log", [log(f"r{i}")])
    w.close() if close_first else w.abandon()
    w = writer(directory, clock=clock, signing_key=second)
    for i in range(3):
        w.append("log", [log(f"s{i}")])
    w.close()


def keys(*signers: CheckpointSigner) -> dict[str, Any]:
    return {"trusted_keys": [s.public_key_hex for s in signers]}


UNTRUSTED_SECOND = [(F1, 6, 5, "key-change"), (F1, 6, 5, "unsealed-tail"), (F1, 7, 6, "untrusted-key"),
                    (F1, 11, 10, "untrusted-key"), (CP, 2, 5, "bad-checkpoint-file"), (CP, 3, 9, "bad-checkpoint-file")]
KEY_SESSIONS = {
    "rotated, both keys trusted": ((K, K2, True), keys(K, K2), ("VERIFIED", [])),
    "rotated after a crash, both trusted": ((K, K2, False), keys(K, K2), ("VERIFIED", [])),
    "rotated, only the first key trusted": ((K, K2, True), keys(K), ("NOT VERIFIED", UNTRUSTED_SECOND)),
    "rotated, only the second key trusted": ((K, K2, True), keys(K2), (
        "NOT VERIFIED", [(F1, 5, 4, "untrusted-key"), (CP, 1, 3, "bad-checkpoint-file")])),
    "rotated after a crash, only the first trusted": ((K, K2, False), keys(K), ("NOT VERIFIED", [
        (F1, None, None, "unknown-stream"), (F1, 5, 4, "key-change"), (F1, 6, 5, "untrusted-key"),
        (F1, 10, 9, "untrusted-key"), (CP, 1, 4, "bad-checkpoint-file"), (CP, 2, 8, "bad-checkpoint-file")])),
    "rotated, self-keyed": ((K, K2, True), SELF, ("NOT VERIFIED", [(F1, 6, 5, "key-change")])),
    "the same key after close, two trusted": ((K, K, True), keys(K, K2), ("VERIFIED", [])),
    "signed, then unsigned": ((K, None, True), keys(K), ("NOT VERIFIED", UNTRUSTED_SECOND)),
    "signed, then unsigned, self-keyed": ((K, None, True), SELF, ("NOT VERIFIED", [(F1, 6, 5, "key-change")])),
    "unsigned, then signed": ((None, K, True), keys(K), (
        "NOT VERIFIED", [(F1, 5, 4, "untrusted-key"), (CP, 1, 3, "bad-checkpoint-file")])),
    "unsigned, then signed, self-keyed": ((None, K, True), SELF, ("NOT VERIFIED", [(F1, 6, 5, "key-change")])),
}


@pytest.mark.parametrize("case", list(KEY_SESSIONS))
def test_key_changes_between_sessions_are_judged_by_the_writer_anchors(tmp_path: Path, case: str) -> None:
    """CAUGHT (all 11): a key change is authorised only by a trusted writer key; self-keyed every change is
    `key-change`; checkpoints under an untrusted key are `untrusted-key`, and a stream none of whose seals is
    trusted is `unknown-stream`."""
    (first, second, close_first), options, expected = KEY_SESSIONS[case]
    directory = tmp_path / "trail"
    two_sessions(directory, first, second, close_first)
    assert every_path(directory, tmp_path, options) == expected


def control_edit(kind: str, change: Callable[[dict], None]) -> Callable[[dict], None]:
    def post(record: dict) -> None:
        if record["kind"] == kind:
            change(record["body"])
    return post


@pytest.mark.parametrize("options", [ANCHORED, SELF], ids=["anchored", "self-keyed"])
def test_a_genesis_public_key_in_capitals_is_malformed_in_both_verifiers(tmp_path: Path, options: dict) -> None:
    """HOLE (verifiers differed): the genesis's public key upper-cased (same key bytes, key id unchanged). Self-keyed,
    Go decoded it and gave VERIFIED-SELF-KEYED; Python took it as the key in force, then verified nothing under it
    (hex must be lowercase, §3): every checkpoint `bad-signature`. Anchored both said VERIFIED. Now both read such a
    genesis as `malformed` (its key id is not the id of a key in the recorded form): no key is put in force."""
    directory = tmp_path / "trail"
    w = writer(directory)
    w.append("log", [log("x")])
    w.close()
    forge(directory, post=control_edit("genesis", lambda b: b.update(public_key=b["public_key"].upper())))
    expected = [(F1, 1, 0, "malformed"), (F1, 3, 2, "bad-signature")]
    if options:
        expected = [(F1, None, None, "unknown-stream")] + expected
    else:
        expected = expected + [(CP, 1, 1, "bad-checkpoint-file")]
    assert every_path(directory, tmp_path, options) == ("NOT VERIFIED", expected)


RECOVERY_EDITS = {
    "public key in capitals": (lambda b: b.update(public_key=b["public_key"].upper()), [(F1, 6, 5, "malformed")]),
    "key id of another key": (lambda b: b.update(key_id=K2.key_id), [(F1, 6, 5, "malformed")]),
    "claims K2, checkpoints by K": (lambda b: b.update(key_id=K2.key_id, public_key=K2.public_key_hex), [
        (F1, 6, 5, "unsealed-tail"), (F1, 7, 6, "bad-signature"), (F1, 11, 10, "bad-signature")]),
}


@pytest.mark.parametrize("edit", list(RECOVERY_EDITS))
def test_a_recovery_record_with_an_odd_key_is_caught_on_every_path(tmp_path: Path, edit: str) -> None:
    """HOLE for capitals (as the genesis above: Go took the key); CAUGHT otherwise: a recovery record whose key id
    is not its public key's is `malformed` and changes nothing; one that names K2 (trusted) while the writer's
    checkpoints stay signed by K makes those `bad-signature`, and the tail after the last good seal unsealed."""
    directory = tmp_path / "trail"
    two_sessions(directory, K, K)
    change, expected = RECOVERY_EDITS[edit]
    forge(directory, post=control_edit("recovery", change))
    assert every_path(directory, tmp_path, keys(K, K2)) == ("NOT VERIFIED", expected)


def test_a_forged_recovery_mid_session_to_a_trusted_key_does_not_carry_the_old_key(tmp_path: Path) -> None:
    """CAUGHT: a record turned into a recovery record naming K2 (trusted): the checkpoint after it, signed by K,
    is `bad-signature` and, no seal being trusted, the stream `unknown-stream`."""
    directory = tmp_path / "trail"
    w = writer(directory)
    for i in range(3):
        w.append("log", [log(f"r{i}")])
    w.close()

    def edit(record: dict) -> None:
        if record["seq"] == "2":
            record["kind"] = "recovery"
            record["body"] = {"writer": "x", "host": "h", "pid": "1", "config_fingerprint": "0" * 64,
                              "key_id": K2.key_id, "public_key": K2.public_key_hex, "reason": "unclean-shutdown",
                              "torn_bytes": "0", "quarantine_file": "", "quarantine_sha256": ""}
    forge(directory, edit=edit)
    assert every_path(directory, tmp_path, keys(K, K2)) == ("NOT VERIFIED", [
        (F1, None, None, "unknown-stream"), (F1, 5, 4, "bad-signature")])


def test_control_bodies_with_odd_members_are_not_judged_by_either_verifier(tmp_path: Path) -> None:
    """SAME (spec silent, reported): a recovery `reason` not of §6.2, an extra member, a non-decimal `torn_bytes`,
    and a rotation's `next_file` naming a file that does not exist, all re-signed with the writer's key, are
    VERIFIED by both: §10 checks no control body's shape beyond genesis `format` and the key members."""
    directory = tmp_path / "trail"
    w = writer(directory, rotate_bytes=4096)
    for i in range(8):
        w.append("log", [log(f"r{i} " + "x" * 900)])
    w.close()
    w = writer(directory)
    w.append("log", [log("after restart")])
    w.close()

    def odd(body: dict) -> None:
        body.update(reason="bogus", extra="x", torn_bytes="many")
    forge(directory, post=control_edit("recovery", odd))
    forge(directory, post=control_edit("rotation", lambda b: b.update(next_file="audit-app.0-000099.jsonl")))
    assert every_path(directory, tmp_path, ANCHORED) == ("VERIFIED", [])


def test_a_restart_under_a_new_trusted_key_into_a_full_file_verifies(tmp_path: Path) -> None:
    """FALSE ALARM, fixed (both verifiers had agreed): the closed file is full, and the restarted writer (new key K2,
    trusted with K) wrote a rotation record and its checkpoint, signed by K2, before the recovery record that puts
    K2 in force, so both verifiers reported `bad-signature` at it. A recovery record now never triggers rotation
    (§8): it goes into the full file, and the rotation before the next record is signed by the key in force."""
    directory = tmp_path / "trail"
    clock = Clock()
    w = writer(directory, clock=clock, rotate_bytes=4096)
    for _ in range(3):
        w.append("log", [log("x" * 1400)])
    w.close()
    w = writer(directory, clock=clock, rotate_bytes=4096, signing_key=K2)
    w.append("log", [log("y")])
    w.close()
    assert every_path(directory, tmp_path, keys(K, K2)) == ("VERIFIED", [])


# -------------------------------------------------------------------------------- order and sealing (§10.3, §10.6)


def test_order_and_sealing_edge_cases_agree(tmp_path: Path) -> None:
    """CAUGHT: a close checkpoint whose signature fails still closes the session (`after-close` follows); a close
    checkpoint copied in early is accepted (its seq is ahead) and the records it skipped are `reordered` and
    `duplicate`; a trusted seal followed by a forged checkpoint leaves the tail `unsealed-tail`; a held line for
    the genesis seq with another head is `rewritten` at line 1."""
    cases = []

    def close_invalid(d: Path) -> None:
        two_checkpoints(d)

        def post(record: dict) -> None:
            if record["kind"] == "checkpoint" and record["seq"] == "4":
                record["body"]["statement"]["reason"] = "close"  # not re-signed
        forge(d, post=post)
    cases.append((close_invalid, ANCHORED, [(F1, 5, 4, "bad-signature"), (F1, 6, 5, "after-close"),
                                            (CP, 1, 3, "bad-checkpoint-file")]))

    def close_copied_early(d: Path) -> None:
        w = writer(d)
        for i in range(3):
            w.append("log", [log(f"r{i}")])
        w.close()
        lines = (d / F1).read_bytes().splitlines(True)
        (d / F1).write_bytes(b"".join(lines[:3] + [lines[-1]] + lines[3:]))
    cases.append((close_copied_early, ANCHORED, [(F1, 5, 3, "reordered"), (F1, 6, 4, "duplicate")]))

    def forged_after_seal(d: Path) -> None:
        two_checkpoints(d)
        forge(d, post=lambda r: r["kind"] == "checkpoint" and r["seq"] != "4" and r["body"].update(
            signature="00" * 64))
    cases.append((forged_after_seal, ANCHORED, [(F1, 6, 5, "unsealed-tail"), (F1, 9, 8, "bad-signature"),
                                                (CP, 2, 7, "bad-checkpoint-file")]))

    def genesis_held_other_head(d: Path) -> None:
        two_checkpoints(d)
        statement = orjson.loads((d / CP).read_bytes().splitlines()[0])["statement"]
        with open(d / CP, "ab") as handle:
            handle.write(held_line({**statement, "seq": "0", "head": "f" * 64}) + b"\n")
    cases.append((genesis_held_other_head, ANCHORED, [(F1, 1, 0, "rewritten")]))

    for i, (build, options, expected) in enumerate(cases):
        directory = tmp_path / f"trail{i}"
        directory.mkdir()
        build(directory)
        assert every_path(directory, tmp_path, options) == ("NOT VERIFIED", expected), build.__name__
