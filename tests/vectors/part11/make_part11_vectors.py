"""Generate the §12 (Part 11) vectors: `.venv/bin/python tests/vectors/part11/make_part11_vectors.py`.

Each case is a trail built deterministically (seeded keys, injected clock and writer identity) through the Python
writer, then tampered with as its name says. `expected.json` holds the exact problems a §12 verifier reports; the
generator refuses to write a case whose problems are not the kinds the case intends. Kept apart from
`tests/vectors/negative/`, which every implementation (also those without §12) must pass.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/, for vector_runner


from gxp_otel.audit.canonical import format_time_ns, purge_message  # noqa: E402
from gxp_otel.audit.signing import CheckpointSigner  # noqa: E402
from gxp_otel.audit.writer import AuditTrailWriter  # noqa: E402
from gxp_otel.part11.esign import signature_body  # noqa: E402
from gxp_otel.part11.retention import purge  # noqa: E402
from seeded_signers import Signer  # noqa: E402
from vector_runner import VectorClock, vector_problems, verify_vector  # noqa: E402

WRITER_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"  # RFC 8032 test 1
START = 1_577_836_800 * 10**9  # 2020-01-01T00:00:00Z
DAY = 86_400 * 10**9


ALICE = Signer("Alice Example", "alice")


def writer(directory: Path, clock, stream: str = "app.0") -> AuditTrailWriter:
    return AuditTrailWriter(directory, stream_id=stream, signing_key=CheckpointSigner.from_seed(WRITER_SEED),
                            compress=False, clock=clock, host="vector", pid=1, writer_name="gxp-otel-vector/1",
                            config_fingerprint="0" * 64, checkpoint_interval=1e9, checkpoint_records=10**9)


def ref(seq_hash: tuple[int, str], stream: str = "app.0") -> dict[str, str]:
    return {"stream": stream, "seq": str(seq_hash[0]), "hash": seq_hash[1]}


def log(text: str) -> dict:
    return {"gxp": {"user_id": "qa.author"}, "attributes": {"decision": {"stringValue": text}},
            "body": {"stringValue": text}}


def signed_trail(directory: Path, *, correction: dict | None = None, signature_of=None, identity=ALICE,
                 moved: bool = False, first_attributes: dict | None = None) -> None:
    """Three log records (the first with ``first_attributes`` too), a signature of seq 2 (or ``signature_of``), and
    optionally a correction of seq 1."""
    w = writer(directory, VectorClock(START, 10**9))
    bodies = [log(f"value {i}") for i in range(3)]
    bodies[0]["attributes"].update(first_attributes or {})
    records = [w.append("log", [body])[0] for body in bodies]
    target = signature_of or ref(records[1])
    body = signature_body(ALICE.private, identity, target, meaning="approval", reason="reviewed",
                          authentication="all-components", time_ns=START + 5 * 10**9)
    if moved:
        body["statement"]["record"] = ref(records[0])
    w.append("signature", [body])
    if correction is not None:
        fields = {"original": ref(records[0]), "path": "/attributes/decision", "old_value": {"stringValue": "value 0"},
                  "new_value": {"stringValue": "value 0, corrected"}, "reason": "transcription error",
                  "corrected_by": {"printed_name": "Alice Example", "user_id": "alice"}}
        w.append("correction", [{**fields, **correction}])
    w.close()


def decision_trail(directory: Path, *, cite: str = "signature", responder: str = "alice") -> None:
    """A subject record, Alice's signature of it, then a human decision recorded as e-signed by ``responder``
    citing (``cite``) the signature record, or the subject record itself (§12.4)."""
    w = writer(directory, VectorClock(START, 10**9))
    subject = w.append("log", [log("approve TS-1")])[0]
    body = signature_body(ALICE.private, ALICE, ref(subject), meaning="approval", reason="reviewed",
                          authentication="all-components", time_ns=START + 3 * 10**9)
    signature = w.append("signature", [body])[0]
    cited = ref(signature if cite == "signature" else subject)
    w.append("log", [{"gxp": {"user_id": responder},
                      "attributes": {"gxp.hitl.action": {"stringValue": "human-response"},
                                     "gxp.hitl.decision": {"stringValue": "e-signed"},
                                     "gxp.hitl.responder": {"stringValue": responder}},
                      "body": {"kvlistValue": {"response": {"stringValue": "approved"}, "signature": {
                          "kvlistValue": {k: {"stringValue": v} for k, v in cited.items()}}}}}])
    w.close()


def copied_signature_trail(directory: Path) -> None:
    """Alice's signature of seq 2, then the same signature record body appended again (a copy, 11.70)."""
    w = writer(directory, VectorClock(START, 10**9))
    records = [w.append("log", [log(f"value {i}")])[0] for i in range(3)]
    body = signature_body(ALICE.private, ALICE, ref(records[1]), meaning="approval", reason="reviewed",
                          authentication="all-components", time_ns=START + 5 * 10**9)
    w.append("signature", [body])
    w.append("log", [log("value 3")])
    w.append("signature", [body])
    w.close()


def purged_trail(directory: Path, *, tombstone_edit: dict | None = None) -> None:
    """A trail of one record a day for five days, its first three files purged with a signed tombstone."""
    now = [START]

    def clock() -> int:
        now[0] += 1_000
        return now[0]

    w = writer(directory, clock)
    for day in range(5):
        now[0] = START + day * DAY
        w.append("log", [log(f"day {day}")])
    w.close()
    _age_files(directory)
    retention_clock = VectorClock(START + 3000 * DAY, 10**9)
    purge(directory, before_ns=START + 3 * DAY + DAY // 2, reason="retention period over", policy="SOP-QA-017 v3",
          key=ALICE, user_id="alice", passphrase="", now_ns=START + 3000 * DAY,
          checkpoint_key=CheckpointSigner.from_seed(WRITER_SEED),
          writer_options={"clock": retention_clock, "host": "vector", "pid": 1, "writer_name": "gxp-otel-vector/1",
                          "config_fingerprint": "0" * 64})
    if tombstone_edit is not None:
        w = writer(directory, retention_clock, stream="retention")
        statement = {**_tombstone(directory), **tombstone_edit}
        w.append("purge", [{"statement": statement, "signature": ALICE.private.sign(purge_message(statement)).hex()}])
        w.close()


def crafted_tombstone(directory: Path, *, purged=(1, 2, 3), edit: dict | None = None, signer: Signer = None,
                      entry_edit: dict | None = None) -> None:
    """The five-day trail with a tombstone made by hand (as an attacker or a faulty tool would) for the files
    ``purged``, signed by ``signer`` (Alice by default), then those files deleted."""
    signer = signer or ALICE
    now = [START]

    def clock() -> int:
        now[0] += 1_000
        return now[0]

    w = writer(directory, clock)
    for day in range(5):
        now[0] = START + day * DAY
        w.append("log", [log(f"day {day}")])
    w.close()
    entries, key = [], None
    for number in purged:
        name = f"audit-app.0-{number:06d}.jsonl"
        data = (directory / name).read_bytes()
        records = [json.loads(line) for line in data.splitlines()]
        body = next(r for r in reversed(records) if r["kind"] == "checkpoint")["body"]
        entries.append({"file": name, "sha256": hashlib.sha256(data).hexdigest(), "first_seq": records[0]["seq"],
                        "last_seq": records[-1]["seq"], "last_hash": records[-1]["hash"],
                        "last_time": records[-1]["time"], "checkpoint": body, **(entry_edit or {})})
        writer_key = CheckpointSigner.from_seed(WRITER_SEED)
        key = {"key_id": writer_key.key_id, "public_key": writer_key.public_key_hex}
    statement = {"format": "gxp-otel-purge/1", "stream": "app.0", "files": entries, "key_in_force": key,
                 "before": format_time_ns(START + 3 * DAY + DAY // 2), "retention_days": "2555",
                 "policy": "SOP-QA-017 v3", "reason": "retention period over",
                 "purged_by": {"printed_name": signer.printed_name, "user_id": signer.user_id},
                 "key_id": signer.key_id, "public_key": signer.public_key, "time": format_time_ns(START + 3000 * DAY),
                 **(edit or {})}
    r = writer(directory, VectorClock(START + 3000 * DAY, 10**9), stream="retention")
    r.append("purge", [{"statement": statement, "signature": signer.private.sign(purge_message(statement)).hex()}])
    r.close()
    for number in purged:
        (directory / f"audit-app.0-{number:06d}.jsonl").unlink()


def identities_trail(directory: Path) -> None:
    """One key signing as Alice, then twice as Bob: the first signature fixes the identity, each later one under
    another identity is one bad-esignature (§12.1)."""
    w = writer(directory, VectorClock(START, 10**9))
    records = [w.append("log", [log(f"value {i}")])[0] for i in range(3)]
    for i, identity in enumerate([ALICE, Signer("Bob Builder", "bob"), Signer("Bob Builder", "bob")]):
        w.append("signature", [signature_body(ALICE.private, identity, ref(records[i]), meaning="review", reason="",
                                              authentication="all-components", time_ns=START + (5 + i) * 10**9)])
    w.close()


def _age_files(directory: Path) -> None:
    """Each chain file's modification time set to its last recorded time, as a real old file has (the purge tool
    does not trust the writer's clock alone)."""
    for path in directory.glob("audit-app.0-*.jsonl"):
        last = json.loads(path.read_bytes().splitlines()[-1])["time"]
        seconds = int(datetime.strptime(last[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp())
        os.utime(path, (seconds, seconds))


def _tombstone(directory: Path) -> dict:
    for line in (directory / "audit-retention-000001.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["kind"] == "purge":
            return record["body"]["statement"]
    raise AssertionError("no tombstone")


def edit(directory: Path, name: str, old: bytes, new: bytes) -> None:
    path = directory / name
    data = path.read_bytes()
    assert data.count(old) == 1, (name, old)
    path.write_bytes(data.replace(old, new))


def other_record() -> dict[str, str]:
    return {"stream": "app.0", "seq": "2", "hash": "e" * 64}


WRITER_PUBLIC = CheckpointSigner.from_seed(WRITER_SEED).public_key_hex
MALLORY = Signer("Mallory Example", "mallory", seed="c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")
ALICE_ENTRY = {"printed_name": ALICE.printed_name, "user_id": ALICE.user_id, "key_id": ALICE.key_id,
               "public_key": ALICE.public_key}
WRITER = {"trusted_keys": [WRITER_PUBLIC]}
AUDITOR = {**WRITER, "signers": [ALICE_ENTRY], "purgers": [ALICE_ENTRY]}  # every role anchored, Alice in both
ITEMS = {"items": {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}}}

CASES = {
    # name: (build, tamper, options, intended problem kinds)
    "signed-and-corrected-intact": (lambda d: signed_trail(d, correction={}), None, AUDITOR, []),
    "signed-and-corrected-self-keyed": (lambda d: signed_trail(d, correction={}), None, {}, []),
    "signature-moved@seq-4": (lambda d: signed_trail(d, moved=True), None, AUDITOR, ["bad-esignature"]),
    "signature-copied-from-another-trail@seq-4": (lambda d: signed_trail(d, signature_of=other_record()), None,
                                                 AUDITOR, ["esignature-link"]),
    "signed-record-modified@seq-2": (signed_trail,
                                     lambda d: edit(d, "audit-app.0-000001.jsonl", b'"value 1"}},', b'"value X"}},'),
                                     {}, ["modified", "esignature-link"]),
    "key-signs-as-another-individual@seq-4": (lambda d: signed_trail(d, identity=Signer("Bob Builder", "bob")),
                                              None, AUDITOR, ["bad-esignature"]),
    "one-key-two-identities-three-signatures": (identities_trail, None, {}, ["bad-esignature", "bad-esignature"]),
    "signer-key-given-only-as-writer-key@seq-4": (signed_trail, None, {"trusted_keys": [WRITER_PUBLIC,
                                                                                       ALICE.public_key]},
                                                  ["untrusted-key"]),
    "correction-without-reason@seq-5": (lambda d: signed_trail(d, correction={"reason": ""}), None, AUDITOR,
                                        ["bad-correction"]),
    "correction-wrong-old-value@seq-5": (lambda d: signed_trail(d, correction={"old_value": {"stringValue": "x"}}),
                                         None, AUDITOR, ["bad-correction"]),
    # RFC 6901: an array index has no leading zero, so /.../01 names no element (both verifiers read it as 1 before)
    "correction-path-index-with-leading-zero@seq-5": (
        lambda d: signed_trail(d, first_attributes=ITEMS, correction={
            "path": "/attributes/items/arrayValue/values/01", "old_value": {"stringValue": "b"},
            "new_value": {"stringValue": "B"}}), None, AUDITOR, ["bad-correction"]),
    "correction-of-absent-record@seq-5": (lambda d: signed_trail(d, correction={"original": other_record()}), None,
                                          AUDITOR, ["correction-link"]),
    "signature-copied-within-the-trail@seq-4-6": (copied_signature_trail, None, AUDITOR,
                                                  ["bad-esignature", "bad-esignature"]),
    "e-signed-decision-intact": (decision_trail, None, AUDITOR, []),
    "e-signed-decision-cites-no-signature@seq-4": (lambda d: decision_trail(d, cite="subject"), None, AUDITOR,
                                                    ["decision-signature"]),
    "e-signed-decision-of-another-responder@seq-4": (lambda d: decision_trail(d, responder="bob"), None, AUDITOR,
                                                      ["decision-signature"]),
    "purged-by-policy-intact": (purged_trail, None, AUDITOR, []),
    "purged-then-next-file-deleted": (purged_trail, lambda d: (d / "audit-app.0-000004.jsonl").unlink(),
                                      AUDITOR, ["missing-file"]),
    "purged-without-purger-registry": (purged_trail, None, WRITER,
        ["unknown-stream", "bad-genesis", "bad-signature", "bad-signature", "missing-file", "missing-file", "missing-file"]),
    "tombstone-by-untrusted-key": (purged_trail, None, {**WRITER, "purgers": [dict(ALICE_ENTRY, printed_name="A",
                                                                                  key_id=MALLORY.key_id,
                                                                                  public_key=MALLORY.public_key)]},
        ["unknown-stream", "bad-genesis", "bad-signature", "bad-signature", "missing-file", "missing-file", "missing-file", "untrusted-key"]),
    "tombstone-self-signed": (lambda d: crafted_tombstone(d, signer=MALLORY, edit={"time": "2099-01-01T00:00:00."
                                                                                   "000000000Z"}), None, AUDITOR,
        ["unknown-stream", "bad-genesis", "bad-signature", "bad-signature", "missing-file", "missing-file", "missing-file", "untrusted-key"]),
    "tombstone-of-a-middle-file": (lambda d: crafted_tombstone(d, purged=(2,)), None, AUDITOR,
        ["missing-file", "bad-purge"]),
    "tombstone-time-after-its-record": (lambda d: crafted_tombstone(d, edit={"time": "2099-01-01T00:00:00."
                                                                             "000000000Z"}), None, AUDITOR,
        ["unknown-stream", "bad-genesis", "bad-signature", "bad-signature", "missing-file", "missing-file", "missing-file", "bad-purge"]),
    "tombstone-embedded-checkpoint-forged": (lambda d: crafted_tombstone(d, entry_edit={"last_hash": "c" * 64}),
                                             None, AUDITOR,
        ["unknown-stream", "bad-genesis", "bad-signature", "bad-signature", "missing-file", "missing-file", "missing-file", "bad-purge"]),
    "tombstone-retention-not-the-streams": (lambda d: crafted_tombstone(d, edit={"retention_days": "1"}), None,
                                            AUDITOR,
        ["unknown-stream", "bad-genesis", "bad-signature", "bad-signature", "missing-file", "missing-file", "missing-file", "bad-purge"]),
    # a purger may keep records longer than the stream's genesis says (§12.3 condition 5); Go required equality
    "tombstone-retention-longer-than-the-streams": (lambda d: crafted_tombstone(d, edit={"retention_days": "2600"}),
                                                    None, AUDITOR, []),
    "tombstone-inside-retention-period": (lambda d: purged_trail(d, tombstone_edit={"retention_days": "9999"}),
                                          None, AUDITOR, ["bad-purge"]),
}


def report_of(trail: Path, options: dict) -> tuple[bool, str, list[dict]]:
    report = verify_vector(trail.parent, options)
    return report.ok, report.verdict, vector_problems(report, trail.parent)


def build(name: str, target: Path) -> dict:
    make, tamper, options, kinds = CASES[name]
    trail = target / "trail"
    trail.mkdir(parents=True)
    make(trail)
    for lock in trail.glob("*.lock"):
        lock.unlink()
    if tamper is not None:
        tamper(trail)
    ok, verdict, problems = report_of(trail, options)
    assert [p["kind"] for p in problems] == kinds, (name, problems)
    return {"ok": ok, "verdict": verdict, "options": options, "problems": problems}


def main() -> None:
    for name in CASES:
        target = HERE / name
        shutil.rmtree(target, ignore_errors=True)
        expected = build(name, target)
        (target / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
        print(f"{name}: {[p['kind'] for p in expected['problems']] or 'ok'}")


if __name__ == "__main__":
    main()
