"""The trust model (docs/audit-format.md §1.1, §10, §13; issue 11): each attack that once verified as intact, on a
real trail written by the real writer and tampered with as an attacker would, with the auditor's options.

Every test here was first run against the verifier before this change and got VERIFIED (or an exit 0) there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from gxp_otel.audit.canonical import canonical_json, encode_record, format_time_ns
from gxp_otel.audit.signing import CheckpointSigner
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter

SEED_K = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"  # the writer's key (RFC 8032 test 1)
SEED_R = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"  # another key (RFC 8032 test 2)
K = CheckpointSigner.from_seed(SEED_K)
R = CheckpointSigner.from_seed(SEED_R)
RUN = "run-42"


def approval(text: str = "qa.head approved") -> dict:
    return {"gxp": {"user_id": "qa.head", "run_id": RUN}, "attributes": {"gxp.decision": {"stringValue": text}},
            "body": {"stringValue": text}}


def signed_stream(directory: Path, stream: str = "app.0", records: int = 6, key=K, **options) -> None:
    writer = AuditTrailWriter(directory, stream_id=stream, signing_key=key, compress=False, rotate_bytes=4096,
                              **options)
    for i in range(records):
        writer.append("log", [approval(f"step {i} " + "x" * 900)])
    writer.close()


def worm_copy(directory: Path, target: Path, *streams: str) -> list[Path]:
    target.mkdir(exist_ok=True)
    out = []
    for stream in streams:
        name = f"audit-{stream}.checkpoints.jsonl"
        shutil.copy(directory / name, target / name)
        out.append(target / name)
    return out


def kinds(report) -> list[str]:
    return [p.kind for p in report.problems]


def chain_lines(directory: Path, stream: str) -> list[tuple[Path, list[bytes]]]:
    files = sorted(directory.glob(f"audit-{stream}-*.jsonl"))
    return [(f, f.read_bytes().splitlines()) for f in files]


def rechain(directory: Path, stream: str, edit_seq: int, signer: CheckpointSigner) -> None:
    """What a holder of ``signer`` does: edit one record, recompute the chain from the genesis (which names the
    signer's key), re-sign every checkpoint and rewrite the local checkpoint file to match."""
    prev = None
    genesis = None
    checkpoints = []
    for path, lines in chain_lines(directory, stream):
        out = []
        for line in lines:
            record = orjson.loads(line)
            seq = int(record["seq"])
            if seq == edit_seq:
                record["body"]["body"] = {"stringValue": "rejected"}
            if prev is not None:
                record["prev"] = prev
            if record["kind"] == "checkpoint":
                statement = record["body"]["statement"]
                statement["head"] = record["prev"]
                statement["genesis"] = genesis
                record["body"]["key_id"] = signer.key_id
                record["body"]["signature"] = signer.sign(statement)
            if record["kind"] in ("genesis", "recovery"):
                record["body"]["key_id"], record["body"]["public_key"] = signer.key_id, signer.public_key_hex
            if record["kind"] == "checkpoint":
                checkpoints.append(record["body"])
            record.pop("hash")
            digest, encoded = encode_record(record["kind"], record["stream"], seq, record["prev"], record["time"],
                                            canonical_json(record["body"]))
            prev = digest
            genesis = genesis or digest
            out.append(encoded)
        path.write_bytes(b"".join(out))
    (directory / f"audit-{stream}.checkpoints.jsonl").write_bytes(b"".join(canonical_json(b) + b"\n"
                                                                           for b in checkpoints))


def append_raw_record(directory: Path, stream: str, kind: str, body: dict) -> None:
    """A chain-valid record appended by someone who can write the directory (no key needed for the chain)."""
    path, lines = chain_lines(directory, stream)[-1]
    last = orjson.loads(lines[-1])
    time = format_time_ns(1_800_000_000 * 10**9)
    _, line = encode_record(kind, stream, int(last["seq"]) + 1, last["hash"], time, canonical_json(body))
    with open(path, "ab") as handle:
        handle.write(line)


# ---------------------------------------------------------------------------------------------- 1. forged stream


def test_a_forged_unsigned_stream_next_to_a_signed_one_is_unknown_stream(tmp_path):
    trail = tmp_path / "trail"
    signed_stream(trail)
    worm = worm_copy(trail, tmp_path / "worm", "app.0")
    forger = AuditTrailWriter(trail, stream_id="aaa.0", compress=False)  # genesis key_id "none", no checkpoint
    forger.append("log", [approval()])
    forger.abandon()
    (trail / "audit-aaa.0.lock").unlink()
    report = verify_trail(trail, trusted_keys=[K.public_key_hex], checkpoint_files=worm)
    assert kinds(report) == ["unknown-stream"] and report.problems[0].stream == "aaa.0"
    assert report.verdict == "NOT VERIFIED" and not report.ok
    self_keyed = verify_trail(trail)  # cannot tell, and says so: the caution, and a note on the unsigned stream
    assert self_keyed.verdict == "VERIFIED-SELF-KEYED" and "forged stream" in self_keyed.caveat
    assert any("while other streams are signed" in n for n in self_keyed.streams[0].notes)


# ---------------------------------------------------------------------------------------------- 2. after close


def test_a_record_appended_after_the_signed_close_checkpoint_is_after_close(tmp_path):
    trail = tmp_path / "trail"
    signed_stream(trail)
    worm = worm_copy(trail, tmp_path / "worm", "app.0")
    append_raw_record(trail, "app.0", "log", approval())
    report = verify_trail(trail, trusted_keys=[K.public_key_hex], checkpoint_files=worm)
    assert kinds(report) == ["after-close", "unsealed-tail"]
    assert report.verdict == "NOT VERIFIED"
    self_keyed = verify_trail(trail)
    assert kinds(self_keyed) == ["after-close"]


def test_a_stream_reopened_after_close_under_another_key_is_a_key_change(tmp_path):
    trail = tmp_path / "trail"
    signed_stream(trail)
    reopened = AuditTrailWriter(trail, stream_id="app.0", signing_key=R, compress=False)  # clean-restart, key R
    reopened.append("log", [approval()])
    reopened.close()
    assert kinds(verify_trail(trail)) == ["key-change"]  # self-keyed: nothing authorises R
    anchored = verify_trail(trail, trusted_keys=[K.public_key_hex])
    assert kinds(anchored) == ["key-change", "unsealed-tail", "untrusted-key", "untrusted-key",  # the chain, then
                               "bad-checkpoint-file", "bad-checkpoint-file"]  # the local file's lines signed by R
    both = verify_trail(trail, trusted_keys=[K.public_key_hex, R.public_key_hex])
    assert both.verdict == "VERIFIED" and any("key changed" in n for n in both.streams[0].notes)


def test_a_second_genesis_in_the_middle_of_a_stream_is_bad_genesis(tmp_path):
    trail = tmp_path / "trail"
    writer = AuditTrailWriter(trail, stream_id="app.0", signing_key=K, compress=False)
    writer.append("log", [approval()])
    genesis = orjson.loads((trail / "audit-app.0-000001.jsonl").read_bytes().splitlines()[0])["body"]
    genesis = {**genesis, "key_id": R.key_id, "public_key": R.public_key_hex}
    writer.append("genesis", [genesis])  # the low-level append takes any kind: a forger's second genesis
    writer.close()
    report = verify_trail(trail, trusted_keys=[K.public_key_hex])
    assert kinds(report) == ["bad-genesis"] and report.problems[0].seq == 2


# ---------------------------------------------------------------------------------------------- 3. deleted stream


def test_a_deleted_stream_named_in_the_held_copy_is_missing_stream(tmp_path):
    trail = tmp_path / "trail"
    signed_stream(trail, "app.0")
    signed_stream(trail, "app.1")
    worm = worm_copy(trail, tmp_path / "worm", "app.0", "app.1")
    for path in trail.glob("audit-app.1*"):
        path.unlink()
    report = verify_trail(trail, trusted_keys=[K.public_key_hex], checkpoint_files=worm)
    assert [(p.kind, p.stream, p.file, p.line) for p in report.problems] == [
        ("missing-stream", "app.1", str(worm[1]), 1)]
    assert report.verdict == "NOT VERIFIED"


@pytest.mark.parametrize("anchored", [True, False])
def test_an_empty_directory_is_no_records_never_verified(tmp_path, anchored):
    report = verify_trail(tmp_path, trusted_keys=[K.public_key_hex] if anchored else [])
    assert report.verdict == "NO RECORDS" and not report.ok and report.exit_code == 4


# ---------------------------------------------------------------------------------------------- 4. WORM shadowed


def test_a_rewrite_with_the_writer_key_behind_a_rewritten_local_checkpoint_file_is_caught_by_the_worm_copy(tmp_path):
    trail = tmp_path / "trail"
    signed_stream(trail)
    worm = worm_copy(trail, tmp_path / "worm", "app.0")
    rechain(trail, "app.0", edit_seq=3, signer=K)
    report = verify_trail(trail, trusted_keys=[K.public_key_hex], checkpoint_files=worm)
    assert "rewritten" in kinds(report) and "held-conflict" in kinds(report)
    conflict = next(p for p in report.problems if p.kind == "held-conflict")
    assert conflict.file == "audit-app.0.checkpoints.jsonl"  # the local copy is the one in conflict


def test_two_held_lines_with_different_heads_for_one_seq_are_held_conflict(tmp_path):
    trail = tmp_path / "trail"
    signed_stream(trail)
    worm = worm_copy(trail, tmp_path / "worm", "app.0")[0]
    lines = worm.read_bytes().splitlines()
    other = orjson.loads(lines[0])
    other["statement"]["head"] = "a" * 64
    other["signature"] = K.sign(other["statement"])
    (tmp_path / "other.jsonl").write_bytes(canonical_json(other) + b"\n")
    report = verify_trail(trail, trusted_keys=[K.public_key_hex], checkpoint_files=[worm, tmp_path / "other.jsonl"])
    assert kinds(report) == ["held-conflict"]


# ---------------------------------------------------------------------------------------------- 6. key roles


def test_a_writer_trust_anchor_does_not_accept_checkpoints_of_another_role(tmp_path):
    """The reviewer's key R given as a signer (its role) cannot re-sign the checkpoints of a rewritten trail."""
    trail = tmp_path / "trail"
    signed_stream(trail)
    rechain(trail, "app.0", edit_seq=3, signer=R)
    signer_entry = {"printed_name": "Rita Reviewer", "user_id": "rita", "key_id": R.key_id,
                    "public_key": R.public_key_hex}
    report = verify_trail(trail, trusted_keys=[K.public_key_hex], signers=[signer_entry])
    assert "untrusted-key" in kinds(report) and report.verdict == "NOT VERIFIED"


# ---------------------------------------------------------------------------------------------- sealing


def test_a_live_stream_reads_as_unsealed_tail_with_its_range(tmp_path):
    trail = tmp_path / "trail"
    writer = AuditTrailWriter(trail, stream_id="app.0", signing_key=K, compress=False)
    writer.append("log", [approval()])
    writer.checkpoint("interval")
    writer.append("log", [approval("two")])
    writer.append("log", [approval("three")])
    try:
        report = verify_trail(trail, trusted_keys=[K.public_key_hex])
        assert kinds(report) == ["unsealed-tail"] and report.problems[0].seq == 3
        assert "verified through seq 2; 2 record(s) not yet sealed" in report.problems[0].detail
        assert report.verdict == "UNSEALED-TAIL" and report.exit_code == 3
        self_keyed = verify_trail(trail)
        assert self_keyed.verdict == "VERIFIED-SELF-KEYED" and self_keyed.exit_code == 0
    finally:
        writer.close()
    assert verify_trail(trail, trusted_keys=[K.public_key_hex]).verdict == "VERIFIED"


# ---------------------------------------------------------------------------------------------- format versions


def _statements(directory: Path, stream: str) -> list[dict]:
    return [orjson.loads(line)["statement"]
            for line in (directory / f"audit-{stream}.checkpoints.jsonl").read_bytes().splitlines()]


def test_a_restarted_version_2_stream_keeps_its_identity_and_its_genesis_retention(tmp_path):
    trail = tmp_path / "trail"
    signed_stream(trail, records=2, retention_days=3650)
    reopened = AuditTrailWriter(trail, stream_id="app.0", signing_key=K, compress=False, retention_days=30)
    reopened.append("log", [approval()])
    reopened.close()
    genesis = orjson.loads((trail / "audit-app.0-000001.jsonl").read_bytes().splitlines()[0])
    assert genesis["body"]["format"] == "gxp-otel-audit/2"
    statements = _statements(trail, "app.0")
    assert {(s["format"], s["genesis"], s["retention_days"]) for s in statements} == {
        ("gxp-otel-audit/2", genesis["hash"], "3650")}  # the stream's retention, not the restarted config's
    assert verify_trail(trail, trusted_keys=[K.public_key_hex]).verdict == "VERIFIED"


def test_a_version_1_stream_continued_by_this_writer_stays_version_1(tmp_path):
    """Regulated trails live for years: a stream keeps its genesis's version, so a v1 trail resumed after the
    upgrade stays verifiable (its statements carry no genesis member)."""
    trail = tmp_path / "trail"
    shutil.copytree(Path(__file__).parents[1] / "vectors" / "v1-base", trail)
    before = len(_statements(trail, "vec.0"))
    writer = AuditTrailWriter(trail, stream_id="vec.0", signing_key=K, compress=False, rotate_bytes=4096)
    writer.append("log", [approval()])
    writer.close()
    statements = _statements(trail, "vec.0")
    assert len(statements) > before and all(s["format"] == "gxp-otel-audit/1" and "genesis" not in s
                                            for s in statements)
    assert verify_trail(trail, trusted_keys=[K.public_key_hex]).verdict == "VERIFIED"


# ---------------------------------------------------------------------------------------------- 5. tombstones


def test_a_tombstone_by_a_key_made_for_the_purpose_is_not_honoured(tmp_path):
    """Attack 5: whoever can write the directory makes a key, purges files with the real purge tool and signs the
    tombstone themselves. Only a registered purger's tombstone counts: the files stay missing."""
    import os

    from gxp_otel.audit.canonical import parse_time
    from gxp_otel.part11.keys import SignerKey
    from gxp_otel.part11.retention import purge

    day = 86_400 * 10**9
    start = 1_577_836_800 * 10**9
    now = [start]

    def clock() -> int:
        now[0] += 1000
        return now[0]

    trail = tmp_path / "trail"
    writer = AuditTrailWriter(trail, stream_id="app.0", signing_key=K, compress=False, clock=clock, rotate_daily=True)
    for i in range(4):
        now[0] = start + i * day
        writer.append("log", [approval(f"day {i}")])
    writer.close()
    for path in trail.glob("audit-app.0-*.jsonl"):
        moment = parse_time(orjson.loads(path.read_bytes().splitlines()[-1])["time"])
        os.utime(path, ns=(moment, moment))
    mallory = SignerKey.create(tmp_path / "mallory.key", printed_name="Mallory", user_id="m", passphrase="p" * 12)
    alice = SignerKey.create(tmp_path / "alice.key", printed_name="Alice", user_id="alice", passphrase="a" * 12)
    later = iter(range(start + 3000 * day, start + 3001 * day, 1000))
    purged = purge(trail, before_ns=start + 2 * day + day // 2, reason="r", policy="p", key=mallory, user_id="m",
                   passphrase="p" * 12, now_ns=start + 3000 * day, checkpoint_key=K,
                   writer_options={"clock": lambda: next(later)})
    assert len(purged) == 2
    purger = {"printed_name": "Alice", "user_id": "alice", "key_id": alice.key_id, "public_key": alice.public_key}
    report = verify_trail(trail, trusted_keys=[K.public_key_hex], purgers=[purger])
    assert kinds(report).count("missing-file") == 2 and "untrusted-key" in kinds(report)
    assert report.verdict == "NOT VERIFIED"
    self_made = {"printed_name": "Mallory", "user_id": "m", "key_id": mallory.key_id,
                 "public_key": mallory.public_key}
    assert verify_trail(trail, trusted_keys=[K.public_key_hex], purgers=[self_made]).verdict == "VERIFIED"


# ---------------------------------------------------------------------------------------------- hostile bodies

HOSTILE_VALUES = [{}, [], {"a": "b"}, ["x"], True, None, "", "none", "x" * 70]
CONTROL_PATHS = [("genesis", "format"), ("genesis", "key_id"), ("genesis", "public_key"),
                 ("genesis", "retention_days"), ("checkpoint", "statement"), ("checkpoint", "key_id"),
                 ("checkpoint", "signature"), ("checkpoint", "statement", "reason"),
                 ("checkpoint", "statement", "genesis"), ("checkpoint", "statement", "retention_days")]


@pytest.mark.parametrize("path", CONTROL_PATHS, ids=["/".join(p) for p in CONTROL_PATHS])
def test_type_confused_control_bodies_are_problems_never_tracebacks(tmp_path, path):
    """A body member of a genesis or checkpoint replaced by any JSON type (re-hashed, so the line itself is intact)
    is reported as a problem of that record; the verifier never raises (numbers are malformed lines already)."""
    kind, *members = path
    for n, value in enumerate(HOSTILE_VALUES):
        trail = tmp_path / str(n)
        signed_stream(trail, records=1)
        chain = trail / "audit-app.0-000001.jsonl"
        lines = chain.read_bytes().splitlines()
        index = next(i for i, line in enumerate(lines) if orjson.loads(line)["kind"] == kind)
        record = orjson.loads(lines[index])
        target = record["body"]
        for member in members[:-1]:
            target = target[member]
        target[members[-1]] = value
        record.pop("hash")
        _, lines[index] = encode_record(kind, "app.0", int(record["seq"]), record["prev"], record["time"],
                                        canonical_json(record["body"]))
        chain.write_bytes(b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines))
        for options in ({}, {"trusted_keys": [K.public_key_hex]}):
            report = verify_trail(trail, **options)
            assert report.verdict in ("NOT VERIFIED", "VERIFIED-SELF-KEYED", "VERIFIED"), (value, report.verdict)
            if not (members == ["public_key"] and value == "" and options == {}):
                assert report.problems, (path, value, options)


def test_the_review_flags_every_record_of_a_forged_stream(tmp_path):
    """Attack 1 on the review page: the forged approval is listed, but flagged with its stream's problem."""
    from gxp_otel.review.build import ReviewOptions, build_review

    trail = tmp_path / "trail"
    signed_stream(trail)
    forger = AuditTrailWriter(trail, stream_id="aaa.0", compress=False)
    forger.append("log", [approval()])
    forger.abandon()
    data = build_review(trail, ReviewOptions(trusted_keys=(K.public_key_hex,)))
    assert data["integrity"]["verdict"] == "NOT VERIFIED"
    forged = [r for r in data["records"] if r["stream"] == "aaa.0"]
    assert forged and all(r["problem"] == "unknown-stream" for r in forged)
    assert all(r["problem"] == "" for r in data["records"] if r["stream"] == "app.0")


def test_a_restart_without_the_checkpoint_file_takes_the_identity_from_the_compressed_genesis_file(tmp_path):
    import gzip

    trail = tmp_path / "trail"
    signed_stream(trail, records=8)  # several files by size rotation
    first = trail / "audit-app.0-000001.jsonl"
    (trail / "audit-app.0-000001.jsonl.gz").write_bytes(gzip.compress(first.read_bytes()))
    first.unlink()
    genesis = orjson.loads(gzip.decompress((trail / "audit-app.0-000001.jsonl.gz").read_bytes()).split(b"\n")[0])
    (trail / "audit-app.0.checkpoints.jsonl").unlink()
    reopened = AuditTrailWriter(trail, stream_id="app.0", signing_key=K, compress=False, rotate_bytes=4096)
    reopened.append("log", [approval()])
    reopened.close()
    assert {s["genesis"] for s in _statements(trail, "app.0")} == {genesis["hash"]}
    assert kinds(verify_trail(trail, trusted_keys=[K.public_key_hex])) == []
