"""Red team, order-dependent and trust logic across verifiers (issue 16): checkpoint statements and signatures
(§7, §10.4), held copies (§10.5), trust anchors and key changes (§1.1, §6.2), sealing (§10.6), Part 11 records
(§12) and rotation (§10.7), each hostile trail verified by Python in one process, by Python with two workers (runs
of two records, so every run boundary falls among checkpoints, signatures and decisions) and by the Go verifier
(skipped when build/gxpaudit-verify is absent): all three must give the same verdict and problems (file, line, seq,
kind), and that answer must be the spec's.

The attacker can write the trail directory and, where a test says so, holds the writer's key (every edited record
re-chained, every checkpoint re-signed): then only the rule under attack can object. Each section says which
attacks were a HOLE (the verifiers disagreed, or a forgery was VERIFIED) before its fix, or were already CAUGHT.
"""

from __future__ import annotations

import copy
import gzip
import json
import shutil
from pathlib import Path
from typing import Any, Callable

import orjson
import pytest

from attack_helpers import ALICE, BOB, CHECKPOINT_FILE, START, Clock, K, go_verdict, log, rotated_trail, writer
from gxp_otel.audit import parallel_verify
from gxp_otel.audit.canonical import canonical_json, encode_record, purge_message, signature_message
from gxp_otel.audit.signing import CheckpointSigner
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.part11.esign import signature_body
from gxp_otel.part11.statements import record_reference
from seeded_signers import Signer

F1 = "audit-app.0-000001.jsonl"
CP = CHECKPOINT_FILE
K2 = CheckpointSigner.from_seed(BOB.seed)  # a second writer key
MALLORY = Signer("Mallory", "mallory", ALICE.seed)  # Alice's key claiming another identity
ANCHORED = {"trusted_keys": [K.public_key_hex]}
SELF: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def short_runs(monkeypatch) -> None:
    """Workers check runs of two records: the main process then replays the chain across a run boundary at almost
    every record, which is where an order-dependent rule could read state the run did not hand back."""
    monkeypatch.setattr(parallel_verify, "MAX_RUN", 2)


def every_path(directory: Path, work: Path, options: dict[str, Any]) -> tuple[str, list[tuple]]:
    """The verdict and problems of Python with workers 0 and 2 and of Go; held-file paths are shown relative to
    ``work``. All three must agree."""
    results = []
    for workers in (0, 2):
        report = verify_trail(directory, workers=workers, trusted_keys=options.get("trusted_keys", []),
                              signers=options.get("signers", []), purgers=options.get("purgers", []),
                              checkpoint_files=options.get("checkpoint_files", []))
        results.append((report.verdict, [(p.file, p.line, p.seq, p.kind) for p in report.problems]))
    assert results[0] == results[1], "one process and two workers disagree"
    go = go_verdict(directory, options, work)
    assert (go["verdict"], [(p["file"], p["line"], p["seq"], p["kind"]) for p in go["problems"]]) == results[0], \
        "the Go verifier disagrees"
    prefix = str(work) + "/"
    return results[0][0], [(f.removeprefix(prefix), line, seq, kind) for f, line, seq, kind in results[0][1]]


def forge(directory: Path, edit: Callable[[dict], None] | None = None, post: Callable[[dict], None] | None = None,
          stream: str = "app.0", write_local: bool = True) -> None:
    """What a holder of the writer's key does: ``edit(record)``, then every prev, hash and checkpoint statement
    recomputed and re-signed, then ``post(record)`` (an edit made after signing), and the local checkpoint file
    rewritten from the chain's checkpoints."""
    prev = genesis = None
    checkpoints = []
    for path in sorted(directory.glob(f"audit-{stream}-*.jsonl")):
        out = []
        for line in path.read_bytes().splitlines():
            record = orjson.loads(line)
            if edit:
                edit(record)
            if prev is not None:
                record["prev"] = prev
            if record["kind"] == "checkpoint":
                statement = record["body"]["statement"]
                statement.update(head=record["prev"], genesis=genesis, time=record["time"],
                                 seq=str(int(record["seq"]) - 1))
                record["body"]["signature"] = K.sign(statement)
            if post:
                post(record)
            if record["kind"] == "checkpoint":
                checkpoints.append(record["body"])
            prev, encoded = encode_record(record["kind"], record["stream"], int(record["seq"]), record["prev"],
                                          record["time"], canonical_json(record["body"]))
            genesis = genesis or prev
            out.append(encoded)
        path.write_bytes(b"".join(out))
    if write_local:
        (directory / f"audit-{stream}.checkpoints.jsonl").write_bytes(
            b"".join(canonical_json(body) + b"\n" for body in checkpoints))


def two_checkpoints(directory: Path) -> None:
    """Genesis, 3 records, an interval checkpoint (seq 4), 3 records, the close checkpoint (seq 8)."""
    w = writer(directory)
    for i in range(3):
        w.append("log", [log(f"r{i}")])
    w.checkpoint("interval")
    for i in range(3):
        w.append("log", [log(f"s{i}")])
    w.close()


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


# --------------------------------------------------------------------------------- e-signatures (§12.1), corrections


def esig(signer: Signer, ref: dict[str, str], identity: Signer | None = None, time_ns: int = START + 5 * 10**9,
         meaning: str = "approval") -> dict:
    return signature_body(signer.private, identity or signer, ref, meaning=meaning, reason="ok",
                          authentication="all-components", time_ns=time_ns)


def signer_options(*signers: Signer) -> dict[str, Any]:
    return {**ANCHORED, "signers": [s.entry for s in signers]}


def streams(directory: Path, *names: str) -> dict:
    clock = Clock()
    return {name: writer(directory, stream=name, clock=clock) for name in names}


def one_signature(change: Callable[[dict], None], resign: bool = True) -> Callable[[Path], None]:
    """A record (seq 1) and Alice's signature of it (seq 2), its body changed by ``change`` (and signed again)."""
    def build(directory: Path) -> None:
        w = writer(directory)
        subject = w.append("log", [log("subject")])[0]
        body = esig(ALICE, record_reference("app.0", *subject))
        change(body)
        if resign:
            body["signature"] = ALICE.private.sign(signature_message(body["statement"])).hex()
        w.append("signature", [body])
        w.close()
    return build


SIG_AT_2 = [(F1, 3, 2, "bad-esignature")]
LINK_AT_2 = [(F1, 3, 2, "esignature-link")]
SIGNATURE_SHAPES = {
    "a key id not the public key's": (lambda b: b["statement"].update(key_id=BOB.key_id), True, SIG_AT_2, SIG_AT_2),
    "the public key in capitals": (lambda b: b["statement"].update(public_key=b["statement"]["public_key"].upper()),
                                   True, SIG_AT_2, SIG_AT_2),
    "the signature in capitals": (lambda b: b.update(signature=b["signature"].upper()), False, SIG_AT_2, SIG_AT_2),
    "a reference seq with a leading zero": (lambda b: b["statement"]["record"].update(seq="01"), True, SIG_AT_2,
                                            SIG_AT_2),
    "a reference hash in capitals": (lambda b: b["statement"]["record"].update(
        hash=b["statement"]["record"]["hash"].upper()), True, SIG_AT_2, SIG_AT_2),
    "a reference with an extra member": (lambda b: b["statement"]["record"].update(x="y"), True, SIG_AT_2, SIG_AT_2),
    "a signer with an extra member": (lambda b: b["statement"]["signer"].update(x="y"), True, SIG_AT_2, SIG_AT_2),
    "a meaning in capitals": (lambda b: b["statement"].update(meaning="Approval"), True, SIG_AT_2, SIG_AT_2),
    "an authentication not of §12.1": (lambda b: b["statement"].update(authentication="password"), True, SIG_AT_2,
                                       SIG_AT_2),
    "February 30": (lambda b: b["statement"].update(time="2020-02-30T00:00:00.000000000Z"), True, SIG_AT_2, SIG_AT_2),
    "a time without nanoseconds": (lambda b: b["statement"].update(time="2020-01-01T00:00:00Z"), True, SIG_AT_2,
                                   SIG_AT_2),
    "an extra body member": (lambda b: b.update(x="y"), False, SIG_AT_2, SIG_AT_2),
    "another format": (lambda b: b["statement"].update(format="gxp-otel-signature/2"), True, SIG_AT_2, SIG_AT_2),
    "an empty printed name": (lambda b: b["statement"]["signer"].update(printed_name=""), True, SIG_AT_2, SIG_AT_2),
    "a reason object": (lambda b: b["statement"].update(reason={"a": "b"}), True, SIG_AT_2, SIG_AT_2),
    "another user id than registered": (lambda b: b["statement"]["signer"].update(user_id="alice2"), True, SIG_AT_2,
                                        []),
    "another printed name than registered": (lambda b: b["statement"]["signer"].update(printed_name="Alice Other"),
                                             True, SIG_AT_2, []),
    "a reference to a later seq": (lambda b: b["statement"]["record"].update(seq="5", hash="a" * 64), True,
                                   LINK_AT_2, LINK_AT_2),
    "a reference to itself": (lambda b: b["statement"]["record"].update(seq="2", hash="a" * 64), True, LINK_AT_2,
                              LINK_AT_2),
    "a time long before the signed record's": (lambda b: b["statement"].update(time="2019-01-01T00:00:00.000000000Z"),
                                               True, [], []),
    "a time long after its own record's": (lambda b: b["statement"].update(time="2031-01-01T00:00:00.000000000Z"),
                                           True, [], []),
}


@pytest.mark.parametrize("anchored", [True, False], ids=["registry", "self-keyed"])
@pytest.mark.parametrize("attack", list(SIGNATURE_SHAPES))
def test_odd_signature_records_get_the_spec_problem_on_every_path(tmp_path: Path, attack: str,
                                                                  anchored: bool) -> None:
    """CAUGHT (all 21): shape, key id, hex case, reference form and link. Self-keyed, another identity under a key
    that signed nothing else is the trail's own claim (no problem). A signing time before the signed record's, or
    after the signature record's own recorded time, is no problem to either verifier (§12.1 is silent: reported)."""
    change, resign, with_registry, self_keyed = SIGNATURE_SHAPES[attack]
    directory = tmp_path / "trail"
    one_signature(change, resign)(directory)
    expected = with_registry if anchored else self_keyed
    verdict = ("NOT VERIFIED" if expected else "VERIFIED") if anchored else \
        ("NOT VERIFIED" if expected else "VERIFIED-SELF-KEYED")
    options = signer_options(ALICE) if anchored else SELF
    assert every_path(directory, tmp_path, options) == (verdict, expected)


def test_a_key_that_signed_as_another_identity_first_is_judged_by_its_registry_entry(tmp_path: Path) -> None:
    """HOLE (verifiers differed): Alice's key signs first as "Mallory", then as Alice, who is registered for it.
    §12.1: with a registry entry for the key, every signature under another identity than the registered one is
    `bad-esignature` (the first-seen rule applies only without one). Python reported the Mallory signature only;
    Go also reported Alice's own (the first signature had fixed the identity). Go now skips the first-seen rule for
    a registered key. Self-keyed, the first one fixes it and the second is the problem."""
    directory = tmp_path / "trail"
    w = writer(directory)
    subject = w.append("log", [log("subject")])[0]
    w.append("signature", [esig(ALICE, record_reference("app.0", *subject), identity=MALLORY)])
    w.append("signature", [esig(ALICE, record_reference("app.0", *subject))])
    w.close()
    assert every_path(directory, tmp_path, signer_options(ALICE)) == ("NOT VERIFIED", [(F1, 3, 2, "bad-esignature")])
    assert every_path(directory, tmp_path, SELF) == ("NOT VERIFIED", [(F1, 4, 3, "bad-esignature")])


def test_identities_and_copies_across_many_streams_follow_verification_order(tmp_path: Path) -> None:
    """CAUGHT: twelve streams written in reverse id order, each with one signature by Alice's key, every second one
    as "Mallory": self-keyed, the first stream by id (s00, as Alice) fixes the identity, so every Mallory one is
    `bad-esignature` whatever the write order; and a signature body copied into a second stream is `bad-esignature`
    in both."""
    directory = tmp_path / "trail"
    names = [f"s{i:02d}" for i in range(12)]
    ws = streams(directory, *names)
    for i, name in enumerate(reversed(names)):
        for j in range(5):
            ws[name].append("log", [log(f"pad {j}")])
        subject = ws[name].append("log", [log("x")])[0]
        identity = MALLORY if i % 2 else None
        ws[name].append("signature", [esig(ALICE, record_reference(name, *subject), identity=identity)])
    for w in ws.values():
        w.close()
    assert every_path(directory, tmp_path, SELF) == ("NOT VERIFIED", [
        (f"audit-s{i:02d}-000001.jsonl", 8, 7, "bad-esignature") for i in (1, 3, 5, 7, 9, 11)])

    copied = tmp_path / "copied"
    ws = streams(copied, "app.0", "app.1")
    subject = ws["app.0"].append("log", [log("y")])[0]
    body = esig(ALICE, record_reference("app.0", *subject))
    ws["app.0"].append("signature", [body])
    ws["app.1"].append("signature", [body])
    for w in ws.values():
        w.close()
    assert every_path(copied, tmp_path, signer_options(ALICE)) == ("NOT VERIFIED", [
        (F1, 3, 2, "bad-esignature"), ("audit-app.1-000001.jsonl", 2, 1, "bad-esignature")])


def test_references_to_other_streams(tmp_path: Path) -> None:
    """CAUGHT: a signature or correction of a record in another stream is good with the right hash (no seq order
    across streams), `esignature-link` with another hash or a stream the trail lacks."""
    def build(directory: Path, hash_: str | None = None, stream: str = "app.1", kind: str = "signature") -> None:
        ws = streams(directory, "app.1", "app.0")
        subject = ws["app.1"].append("log", [log("subject in app.1")])[0]
        ref = record_reference(stream, subject[0], hash_ or subject[1])
        body = esig(ALICE, ref) if kind == "signature" else {
            "original": ref, "path": "/body/stringValue", "old_value": "subject in app.1", "new_value": "z",
            "reason": "typo", "corrected_by": {"printed_name": "Q A", "user_id": "qa"}}
        ws["app.0"].append(kind, [body])
        for w in ws.values():
            w.close()
    cases = [({}, ("VERIFIED", [])),
             ({"hash_": "f" * 64}, ("NOT VERIFIED", [(F1, 2, 1, "esignature-link")])),
             ({"stream": "app.9"}, ("NOT VERIFIED", [(F1, 2, 1, "esignature-link")])),
             ({"kind": "correction"}, ("VERIFIED", [])),
             ({"kind": "correction", "hash_": "f" * 64}, ("NOT VERIFIED", [(F1, 2, 1, "correction-link")]))]
    for i, (args, expected) in enumerate(cases):
        directory = tmp_path / f"trail{i}"
        build(directory, **args)
        assert every_path(directory, tmp_path, signer_options(ALICE)) == expected, args


def correction(ref: dict[str, str], path: str = "/body/stringValue", old: Any = "s", new: Any = "t") -> dict:
    return {"original": ref, "path": path, "old_value": old, "new_value": new, "reason": "typo",
            "corrected_by": {"printed_name": "Q A", "user_id": "qa"}}


def test_correction_pointers_and_chains_agree(tmp_path: Path) -> None:
    """HOLE for `01` (both verifiers resolved it as index 1; RFC 6901's array-index has no leading zero: both now
    find no element there); CAUGHT otherwise: RFC 6901 escapes (`~1`, `~0`; `~2` is no escape), array indexes
    (`-` and one past the end are no element), the whole document, a path without its leading `/`, `/` (the
    member ""), an absent member with a null old value, and an old value taken from a correction of another path:
    `bad-correction` on every path. Two corrections of one path may come in either order (the old value is "the
    new_value of another correction", §12.2 says nothing of order: reported)."""
    directory = tmp_path / "trail"
    w = writer(directory)
    plain = record_reference("app.0", *w.append("log", [log("s")])[0])
    escaped = record_reference("app.0", *w.append("log", [log("s", {"a/b": {"stringValue": "v"},
                                                                     "a~b": {"stringValue": "w"}})])[0])
    listed = record_reference("app.0", *w.append("log", [log("s", body={"arrayValue": {"values": [
        {"stringValue": "x"}, {"stringValue": "y"}]}})])[0])
    values = "/body/arrayValue/values"
    w.append("correction", [correction(escaped, "/attributes/a~1b/stringValue", "v"),  # seq 4, good
                            correction(escaped, "/attributes/a~0b/stringValue", "w"),  # 5, good
                            correction(escaped, "/attributes/a~2b/stringValue", "w"),  # 6
                            correction(listed, values + "/1/stringValue", "y"),  # 7, good
                            correction(listed, values + "/01/stringValue", "y"),  # 8
                            correction(listed, values + "/-/stringValue", "y"),  # 9
                            correction(listed, values + "/2", None),  # 10
                            correction(plain, "", None),  # 11
                            correction(plain, "body", None),  # 12
                            correction(plain, "/", None),  # 13
                            correction(plain, "/nothing", None),  # 14
                            correction(plain, "/attributes/note/stringValue", "s", "zz"),  # 15, good
                            correction(plain, "/body/stringValue", "zz", "u"),  # 16: zz is another path's
                            correction(plain, "/body/stringValue", "t", "u2"),  # 17, good: 18 makes it t
                            correction(plain, "/body/stringValue", "s", "t")])  # 18, good
    w.close()
    assert every_path(directory, tmp_path, SELF) == ("NOT VERIFIED", [
        (F1, n + 1, n, "bad-correction") for n in (6, 8, 9, 10, 11, 12, 13, 14, 16)])


# ------------------------------------------------------------------------------ e-signed decisions (§12.4), streams


def decision(responder: str, ref: dict[str, str] | None) -> dict:
    from test_attacks_decisions import decision as made
    return made(responder, ref)


def test_decisions_across_streams_follow_verification_order(tmp_path: Path) -> None:
    """CAUGHT: a decision may cite a signature in another stream (§12.4 orders seqs only within a stream); one
    signature cited by decisions in ten streams written in reverse id order binds the decision of the first stream
    by id (s00) only; a decision citing an invalid signature of another stream is `decision-signature` beside the
    signature's own `esignature-link`; citing a correction, a reference with an extra member or a seq with a
    leading zero is `decision-signature`."""
    directory = tmp_path / "many"
    names = [f"s{i:02d}" for i in range(10)]
    ws = streams(directory, *names)
    subject = ws["s05"].append("log", [log("y")])[0]
    signed = ws["s05"].append("signature", [esig(ALICE, record_reference("s05", *subject))])[0]
    for name in reversed(names):
        for j in range(3):
            ws[name].append("log", [log(f"p{j}")])
        ws[name].append("log", [decision("alice", record_reference("s05", *signed))])
    for w in ws.values():
        w.close()
    expected = [(f"audit-s{i:02d}-000001.jsonl", 7 if i == 5 else 5, 6 if i == 5 else 4, "decision-signature")
                for i in range(1, 10)]
    assert every_path(directory, tmp_path, signer_options(ALICE)) == ("NOT VERIFIED", expected)

    directory = tmp_path / "odd"
    ws = streams(directory, "app.0", "app.1")
    subject = ws["app.1"].append("log", [log("y")])[0]
    good = ws["app.1"].append("signature", [esig(ALICE, record_reference("app.1", *subject))])[0]
    bad = ws["app.1"].append("signature", [esig(ALICE, record_reference("app.1", 9, "a" * 64), meaning="review")])[0]
    fixed = ws["app.1"].append("correction", [correction(record_reference("app.1", *subject), old="y", new="z")])[0]
    ws["app.0"].append("log", [decision("alice", record_reference("app.1", *good))])  # seq 1: bound
    ws["app.0"].append("log", [decision("alice", record_reference("app.1", *bad))])  # 2
    ws["app.0"].append("log", [decision("alice", record_reference("app.1", *fixed))])  # 3
    ws["app.0"].append("log", [decision("alice", {**record_reference("app.1", *good), "x": "y"})])  # 4
    ws["app.0"].append("log", [decision("alice", {**record_reference("app.1", *good), "seq": "02"})])  # 5
    for w in ws.values():
        w.close()
    assert every_path(directory, tmp_path, signer_options(ALICE)) == ("NOT VERIFIED", [
        (F1, n + 1, n, "decision-signature") for n in (2, 3, 4, 5)] + [
        ("audit-app.1-000001.jsonl", 4, 3, "esignature-link")])


# ------------------------------------------------------------------------------------------ purge tombstones (§12.3)


def purged_trail(directory: Path) -> Path:
    """Five daily files, the first three purged by Alice (a registered purger); returns the WORM copy."""
    from gxp_otel.part11.retention import purge
    from test_attacks_purge import BEFORE, NOW, daily_trail
    held = daily_trail(directory)
    purge(directory, before_ns=BEFORE, reason="retention period over", policy="SOP", key=ALICE, user_id="alice",
          passphrase="", now_ns=NOW, checkpoint_key=K, trusted_keys=[K.public_key_hex], checkpoint_files=[held],
          writer_options={"clock": Clock(NOW)})
    return held


def tombstone(change: Callable[[dict, dict], None]) -> Callable[[dict], None]:
    """The purge record's statement changed and signed again with the purger's key (the retention stream's chain
    and checkpoints re-signed with the writer's key by :func:`forge`)."""
    def post(record: dict) -> None:
        if record["kind"] == "purge":
            statement = record["body"]["statement"]
            change(statement, record)
            record["body"]["signature"] = ALICE.private.sign(purge_message(statement)).hex()
    return post


NOT_HONOURED = [("audit-app.0-000004.jsonl", None, None, "unknown-stream"),
                ("audit-app.0-000004.jsonl", 1, 10, "bad-genesis"),
                ("audit-app.0-000004.jsonl", 3, 12, "bad-signature"),
                ("audit-app.0-000005.jsonl", 2, 14, "bad-signature"),
                ("audit-app.0-000001.jsonl", None, None, "missing-file"),
                ("audit-app.0-000002.jsonl", None, None, "missing-file"),
                ("audit-app.0-000003.jsonl", None, None, "missing-file"),
                ("audit-retention-000001.jsonl", 2, 1, "bad-purge")]
TOMBSTONES = {
    "intact": (lambda s, r: None, []),
    "files in reverse order": (lambda s, r: s["files"].reverse(), []),
    "a file listed twice": (lambda s, r: s["files"].insert(1, s["files"][0]), []),
    "the middle file left out": (lambda s, r: s["files"].pop(1), NOT_HONOURED),
    "of the stream retention": (lambda s, r: s.update(stream="retention"), NOT_HONOURED),
    "of a stream the trail lacks": (lambda s, r: s.update(stream="app.9"), NOT_HONOURED),
    "time equal to the record's": (lambda s, r: s.update(time=r["time"]), []),
    "time after the record's": (lambda s, r: s.update(time=r["time"].replace("2028", "2029")), NOT_HONOURED),
    "before equal to time": (lambda s, r: s.update(before=s["time"]), []),
    "retention_days with a leading zero": (lambda s, r: s.update(retention_days="030"), NOT_HONOURED),
    "a shorter retention": (lambda s, r: s.update(retention_days="29"), NOT_HONOURED),
    "a longer retention": (lambda s, r: s.update(retention_days="31"), []),
    "retention_days above int64": (lambda s, r: s.update(retention_days="99999999999999999999"), NOT_HONOURED),
    "key_in_force in capitals": (lambda s, r: s["key_in_force"].update(
        public_key=s["key_in_force"]["public_key"].upper()), NOT_HONOURED),
    "a sha256 in capitals": (lambda s, r: s["files"][0].update(sha256=s["files"][0]["sha256"].upper()),
                             NOT_HONOURED),
    "another sha256": (lambda s, r: s["files"][0].update(sha256="0" * 64), []),
    "a first_seq that fits nothing": (lambda s, r: s["files"][1].update(first_seq="99"), []),
    "another last_seq": (lambda s, r: s["files"][0].update(last_seq="99"), NOT_HONOURED),
    "no embedded checkpoint in a middle file": (lambda s, r: s["files"][1].update(checkpoint={}), NOT_HONOURED),
    "another file's checkpoint": (lambda s, r: s["files"][1].update(checkpoint=s["files"][0]["checkpoint"]),
                                  NOT_HONOURED),
    "purged by another identity": (lambda s, r: s["purged_by"].update(user_id="bob"), NOT_HONOURED),
    "an extra member": (lambda s, r: s.update(x="y"), NOT_HONOURED),
    "a file entry with an extra member": (lambda s, r: s["files"][0].update(x="y"), NOT_HONOURED),
    "a file named with .gz": (lambda s, r: s["files"][0].update(file=s["files"][0]["file"] + ".gz"), []),
}


@pytest.mark.parametrize("attack", list(TOMBSTONES))
def test_odd_tombstones_are_honoured_or_not_alike(tmp_path: Path, attack: str) -> None:
    """CAUGHT (all 24, purger and writer keys held): a tombstone failing §12.3 leaves its files `missing-file` and
    the chain unanchored after them. Both verifiers also honour what §12.3 does not forbid explicitly: files listed
    out of number order or twice, a `first_seq` that is neither the previous `last_seq` + 1 nor at most the file's
    `last_seq`, a sha256 that cannot be checked (the file is gone), a file named with `.gz` (reported)."""
    directory = tmp_path / "trail"
    directory.mkdir()
    held = purged_trail(directory)
    change, expected = TOMBSTONES[attack]
    forge(directory, post=tombstone(change), stream="retention")
    options = {**ANCHORED, "checkpoint_files": [str(held)], "purgers": [ALICE.entry]}
    assert every_path(directory, tmp_path, options) == ("NOT VERIFIED" if expected else "VERIFIED", expected)


def test_a_purge_split_into_two_tombstones_in_either_order(tmp_path: Path) -> None:
    """CAUGHT: files 1-2 and 3 in two tombstones verify in either order (§12.3 rule 7, the least closed set); a
    duplicate tombstone is harmless; when the first of the two fails, the second is `bad-purge` too (it has no
    valid predecessor) and every file stays missing."""
    def split(directory: Path, arrange: Callable[[list, list[int]], None]) -> None:
        path = directory / "audit-retention-000001.jsonl"
        records = []
        for line in path.read_bytes().splitlines():
            record = orjson.loads(line)
            if record["kind"] == "purge":
                files = record["body"]["statement"]["files"]
                for part in (files[:2], files[2:]):
                    copy_ = copy.deepcopy(record)
                    copy_["body"]["statement"]["files"] = part
                    copy_["body"]["signature"] = ALICE.private.sign(
                        purge_message(copy_["body"]["statement"])).hex()
                    records.append(copy_)
            else:
                records.append(record)
        arrange(records, [i for i, r in enumerate(records) if r["kind"] == "purge"])
        for seq, record in enumerate(records):
            record["seq"] = str(seq)
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        forge(directory, stream="retention")

    def swap(records: list, at: list[int]) -> None:
        records[at[0]], records[at[1]] = records[at[1]], records[at[0]]

    def spoil_first(records: list, at: list[int]) -> None:
        records[at[0]]["body"]["signature"] = "00" * 64

    arrangements = [(lambda r, a: None, []), (swap, []), (lambda r, a: r.insert(a[1], copy.deepcopy(r[a[0]])), []),
                    (spoil_first, NOT_HONOURED + [("audit-retention-000001.jsonl", 3, 2, "bad-purge")])]
    for i, (arrange, expected) in enumerate(arrangements):
        directory = tmp_path / f"case{i}" / "trail"
        directory.mkdir(parents=True)
        held = purged_trail(directory)
        split(directory, arrange)
        options = {**ANCHORED, "checkpoint_files": [str(held)], "purgers": [ALICE.entry]}
        assert every_path(directory, tmp_path, options) == ("NOT VERIFIED" if expected else "VERIFIED", expected), i


# ------------------------------------------------------------------------- rotation, gz copies, streams (§10.7)


def newest(directory: Path) -> Path:
    return sorted(directory.glob("audit-app.0-*.jsonl"))[-1]


def number(n: int) -> str:
    return f"audit-app.0-{n:06d}.jsonl"


def delete_newest_and_its_local_line(d: Path) -> None:
    newest(d).unlink()
    lines = (d / CP).read_bytes().splitlines(True)
    (d / CP).write_bytes(b"".join(lines[:-1]))


def plain_beside_gz_cut(d: Path) -> None:
    path = newest(d)
    data = path.read_bytes()
    Path(f"{path}.gz").write_bytes(gzip.compress(data))
    path.write_bytes(b"".join(data.splitlines(True)[:-1]))


def gz_with(d: Path, tail: Callable[[bytes], bytes]) -> None:
    path = d / number(1)
    Path(f"{path}.gz").write_bytes(tail(path.read_bytes()))
    path.unlink()


def two_members(data: bytes) -> bytes:
    lines = data.splitlines(True)
    return gzip.compress(b"".join(lines[:2])) + gzip.compress(b"".join(lines[2:]))


UNREAD_FIRST_FILE = [(number(1) + ".gz", None, None, "unknown-stream"), (number(1) + ".gz", 1, None, "torn-line"),
                     (number(2), 1, 6, "bad-genesis")] + [
                    (number(n), 5, 5 * n, "bad-signature") for n in range(2, 8)] + [(number(8), 4, 39, "bad-signature")]
ROTATIONS = {
    "the newest file deleted": (lambda d: newest(d).unlink(), [(number(7), 5, 38, "truncated"),
                                                                (number(8), None, None, "missing-file")]),
    "the newest file and its local line deleted": (delete_newest_and_its_local_line,
                                                   [(number(8), None, None, "missing-file")], False),
    "the newest file emptied": (lambda d: newest(d).write_bytes(b""), [(number(8), None, 38, "truncated")]),
    "an empty file after the newest": (lambda d: (d / number(9)).write_bytes(b""), []),
    "an empty .gz after the newest": (lambda d: Path(str(d / number(9)) + ".gz").write_bytes(gzip.compress(b"")),
                                      []),
    "the newest deleted, an empty one after it": (
        lambda d: (newest(d).unlink(), (d / number(9)).write_bytes(b"")),
        [(number(9), None, 38, "truncated"), (number(8), None, None, "missing-file")]),
    "a middle file emptied": (lambda d: (d / number(2)).write_bytes(b""), [(number(3), 1, 6, "deleted")]),
    "the newest file only as .gz": (
        lambda d: (Path(f"{newest(d)}.gz").write_bytes(gzip.compress(newest(d).read_bytes())), newest(d).unlink()),
        []),
    "a .gz beside a plain copy cut by a line": (plain_beside_gz_cut, [(number(8), None, None, "copies-differ"),
                                                                      (number(8), 1, 36, "unsealed-tail")]),
    "a .gz of two members": (lambda d: gz_with(d, two_members), UNREAD_FIRST_FILE),
    "a .gz with trailing zero bytes": (lambda d: gz_with(d, lambda b: gzip.compress(b) + b"\0" * 16),
                                       UNREAD_FIRST_FILE),
}


@pytest.mark.parametrize("case", list(ROTATIONS))
def test_rotation_and_gz_edge_cases_agree(tmp_path: Path, case: str) -> None:
    """CAUGHT (all 11): a file number gap of exactly one at the newest file is `missing-file` (as many rotations as
    files) with the WORM copy's `truncated`; an empty newest file is the copy's `truncated`; an empty file after a
    closed newest one is no problem (a writer may crash right after creating it); a `.gz` that is not one member
    is `torn-line` at line 1 and none of it is read."""
    directory = tmp_path / "trail"
    worm = rotated_trail(directory)
    change, expected, *with_worm = ROTATIONS[case]
    change(directory)
    options = {**ANCHORED, "checkpoint_files": [str(worm)] if not with_worm or with_worm[0] else []}
    assert every_path(directory, tmp_path, options) == ("NOT VERIFIED" if expected else "VERIFIED", expected)


def test_the_unknown_stream_rule_and_streams_named_only_by_checkpoint_files(tmp_path: Path) -> None:
    """CAUGHT: anchored, a stream whose chain checkpoints were stripped (or all forged) is `unknown-stream` even
    though the WORM copy holds valid lines for it (a held line is no seal, §10.6); a stream of a genesis alone is
    `unknown-stream` anchored and VERIFIED-SELF-KEYED self-keyed; two interleaved streams, one unsigned, leave the
    signed one verified; a directory checkpoint file of a stream with no chain file is `missing-stream`, empty
    (line null) or with a bad line too."""
    def run(build: Callable[[Path], Path | None], options: dict, expected: tuple, name: str) -> None:
        directory = tmp_path / name / "trail"
        directory.mkdir(parents=True)
        worm = build(directory)
        with_worm = {**options, "checkpoint_files": [str(worm)]} if worm else options
        assert every_path(directory, tmp_path, with_worm) == expected, name

    def closed(d: Path, records: int = 4) -> Path:
        w = writer(d)
        for i in range(records):
            w.append("log", [log(f"r{i}")])
        w.close()
        worm = d.parent / "worm"
        worm.mkdir()
        shutil.copy(d / CP, worm / CP)
        return worm / CP

    def stripped(d: Path) -> Path:
        worm = closed(d)
        lines = (d / F1).read_bytes().splitlines(True)
        (d / F1).write_bytes(b"".join(lines[:-1]))
        return worm
    run(stripped, ANCHORED, ("NOT VERIFIED", [(F1, None, None, "unknown-stream")]), "stripped")

    def forged(d: Path) -> Path:
        worm = closed(d)
        forge(d, post=lambda r: r["kind"] == "checkpoint" and r["body"].update(signature="00" * 64),
              write_local=False)
        return worm
    run(forged, ANCHORED, ("NOT VERIFIED", [(F1, None, None, "unknown-stream"), (F1, 6, 5, "bad-signature")]),
        "forged")
    run(lambda d: writer(d).abandon(), ANCHORED, ("NOT VERIFIED", [(F1, None, None, "unknown-stream")]), "genesis")
    run(lambda d: writer(d).abandon(), SELF, ("VERIFIED-SELF-KEYED", []), "genesis-self")

    def interleaved(d: Path) -> None:
        clock = Clock()
        a, b = writer(d, stream="app.0", clock=clock), writer(d, stream="app.1", clock=clock, signing_key=None)
        for i in range(3):
            a.append("log", [log(f"a{i}")])
            b.append("log", [log(f"b{i}")])
        a.close()
        b.close()
    f2, cp2 = "audit-app.1-000001.jsonl", "audit-app.1.checkpoints.jsonl"
    run(interleaved, ANCHORED, ("NOT VERIFIED", [(f2, None, None, "unknown-stream"), (f2, 5, 4, "untrusted-key"),
                                                 (cp2, 1, 3, "bad-checkpoint-file")]), "interleaved")

    def checkpoint_file_only(content: bytes | None) -> Callable[[Path], None]:
        def build(d: Path) -> None:
            clock = Clock()
            a = writer(d, stream="app.0", clock=clock)
            a.append("log", [log("a")])
            a.close()
            if content is None:
                b = writer(d, stream="app.1", clock=clock)
                b.append("log", [log("b")])
                b.close()
                for path in d.glob("audit-app.1-*.jsonl"):
                    path.unlink()
            else:
                (d / cp2).write_bytes(content)
        return build
    run(checkpoint_file_only(None), ANCHORED, ("NOT VERIFIED", [(cp2, 1, None, "missing-stream")]), "deleted")
    run(checkpoint_file_only(b""), ANCHORED, ("NOT VERIFIED", [(cp2, None, None, "missing-stream")]), "empty")
    run(checkpoint_file_only(b"garbage\n"), ANCHORED, ("NOT VERIFIED", [
        (cp2, None, None, "missing-stream"), (cp2, 1, None, "bad-checkpoint-file")]), "garbage")
