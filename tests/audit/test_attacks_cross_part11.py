"""Red team across verifiers (issue 16), Part 11 records (§12): e-signatures and identities (§12.1), corrections
(§12.2), e-signed decisions (§12.4) and purge tombstones (§12.3). Every hostile trail is verified on every path
(cross_verifier_helpers.every_path: Python in one process and with two workers, and Go), which must agree with each
other and with the spec."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import orjson
import pytest

from attack_helpers import ALICE, BOB, START, Clock, K, log, writer
from cross_verifier_helpers import (  # noqa: F401 (short_runs: the autouse fixture)
    ANCHORED, F1, MALLORY, SELF, every_path, forge, short_runs,
)
from gxp_otel.audit.canonical import purge_message, signature_message
from gxp_otel.part11.esign import signature_body
from gxp_otel.part11.statements import record_reference
from seeded_signers import Signer


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
