"""Negative vectors: a base trail tampered with one way each, named after the tampering (transparency-dev style).

Each vector directory holds ``trail/`` (the tampered files), optionally ``held/`` (checkpoint files an auditor
kept elsewhere) and ``expected.json``: the verifier options and the exact problems (file, line, seq, kind) every
implementation must report.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import orjson

from gxp_otel.audit.canonical import canonical_json, encode_record
from gxp_otel.audit.signing import CheckpointSigner
from vector_runner import run_steps

STREAM = "vec.0"
F1, F2 = (f"audit-{STREAM}-00000{i}.jsonl" for i in (1, 2))
CPF = f"audit-{STREAM}.checkpoints.jsonl"


def _chain(files):
    return sorted(n for n in files if n.startswith(f"audit-{STREAM}-") and n.endswith(".jsonl"))


def _lines(files, name):
    return files[name].split(b"\n")[:-1]


def _set_lines(files, name, lines):
    files[name] = b"".join(line + b"\n" for line in lines)


def _where(files, seq):
    for name in _chain(files):
        for i, line in enumerate(_lines(files, name)):
            if orjson.loads(line)["seq"] == str(seq):
                return name, i
    raise KeyError(seq)


def _edit(files, seq, change):
    name, i = _where(files, seq)
    lines = _lines(files, name)
    lines[i] = change(lines[i])
    _set_lines(files, name, lines)


def modified_body(files, seed_b):
    _edit(files, 3, lambda l: l.replace(b"\"name\":\"step-", b"\"name\":\"STEP-"))


def modified_hash(files, seed_b):
    def change(line):
        record = orjson.loads(line)
        record["hash"] = "f" * 64
        return canonical_json(record)
    _edit(files, 3, change)


def deleted_record(files, seed_b):
    name, i = _where(files, 4)
    lines = _lines(files, name)
    del lines[i]
    _set_lines(files, name, lines)


def reordered(files, seed_b):
    name, i = _where(files, 3)
    lines = _lines(files, name)
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    _set_lines(files, name, lines)


def duplicated(files, seed_b):
    name, i = _where(files, 2)
    lines = _lines(files, name)
    lines.insert(i + 1, lines[i])
    _set_lines(files, name, lines)


def inserted_forged(files, seed_b):
    """A new record with a valid hash at seq 3, linked to seq 2: the real seq 3 then no longer links."""
    name, i = _where(files, 2)
    lines = _lines(files, name)
    before = orjson.loads(lines[i])
    forged_body = canonical_json({"note": {"stringValue": "forged approval"}})
    _, line = encode_record("log", STREAM, 3, before["hash"], before["time"], forged_body)
    lines.insert(i + 1, line[:-1])
    _set_lines(files, name, lines)


def non_canonical(files, seed_b):
    _edit(files, 2, lambda l: l.replace(b'{"body":', b'{ "body":', 1))


def number_in_line(files, seed_b):
    def change(line):
        record = orjson.loads(line)
        record["body"]["dropped"]["attributes"] = 0
        return canonical_json(record)
    _edit(files, 2, change)


def malformed_json(files, seed_b):
    _edit(files, 2, lambda l: l[:-1])


def torn_line(files, seed_b):
    newest = _chain(files)[-1]
    files[newest] = files[newest][:-40]


def trailing_garbage(files, seed_b):
    newest = _chain(files)[-1]
    files[newest] = files[newest] + b"garbage"


def truncated_tail(files, seed_b):
    newest = _chain(files)[-1]
    _set_lines(files, newest, _lines(files, newest)[:-2])


def missing_middle_file(files, seed_b):
    del files[F2]


def missing_newest_file(files, seed_b):
    del files[_chain(files)[-1]]


def missing_first_file(files, seed_b):
    del files[F1]


def bad_signature(files, seed_b):
    """The close checkpoint (the last record) gets a wrong signature and a matching hash: only the signature fails."""
    newest = _chain(files)[-1]
    lines = _lines(files, newest)
    record = orjson.loads(lines[-1])
    signature = record["body"]["signature"]
    record["body"]["signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]
    lines[-1] = canonical_json(_rehash(record))
    _set_lines(files, newest, lines)


def _rehash(record):
    record = dict(record)
    record.pop("hash", None)
    digest, _ = encode_record(record["kind"], record["stream"], int(record["seq"]), record["prev"], record["time"],
                              canonical_json(record["body"]))
    record["hash"] = digest
    return record


def _rechain(files, after, signer=None, resign_from_start=False):
    """Recompute hashes and prevs of every record after ``after`` (name, index): what an editor without the
    key can do. With ``signer``, checkpoints are re-signed (an editor with *another* key)."""
    started = after is None
    prev = None
    genesis = None
    for name in _chain(files):
        lines = _lines(files, name)
        for i, line in enumerate(lines):
            record = orjson.loads(line)
            if not started:
                if (name, i) == after:
                    started = True
                prev = record["hash"]
                genesis = genesis or record["hash"]
                continue
            if prev is not None:
                record["prev"] = prev
            if record["kind"] == "checkpoint":
                statement = record["body"]["statement"]
                statement["head"] = record["prev"]
                if "genesis" in statement:
                    statement["genesis"] = genesis
                if signer is not None:
                    record["body"]["key_id"] = signer.key_id
                    record["body"]["signature"] = signer.sign(statement)
            if record["kind"] in ("genesis", "recovery") and signer is not None:
                record["body"]["key_id"] = signer.key_id
                record["body"]["public_key"] = signer.public_key_hex
            record = _rehash(record)
            prev = record["hash"]
            genesis = genesis or record["hash"]
            lines[i] = canonical_json(record)
        _set_lines(files, name, lines)


def recomputed_chain_without_key(files, seed_b):
    name, i = _where(files, 3)
    _edit(files, 3, lambda l: canonical_json(_rehash(_replace_name(orjson.loads(l), "step-", "STEP-"))))
    _rechain(files, after=(name, i))


def _replace_name(record, old, new):
    record["body"]["name"] = record["body"]["name"].replace(old, new)
    return record


def foreign_key_checkpoints(files, seed_b):
    """The whole trail rewritten and re-signed with another key, the checkpoint file replaced to match."""
    signer = CheckpointSigner.from_seed(seed_b)
    _rechain(files, after=None, signer=signer)
    _rewrite_checkpoint_file(files)


def _rewrite_checkpoint_file(files):
    out = []
    for name in _chain(files):
        for line in _lines(files, name):
            record = orjson.loads(line)
            if record["kind"] == "checkpoint":
                out.append(canonical_json(record["body"]))
    _set_lines(files, CPF, out)


def checkpoint_file_edited(files, seed_b):
    lines = _lines(files, CPF)
    record = orjson.loads(lines[0])
    record["statement"]["head"] = "a" * 64
    lines[0] = canonical_json(record)
    _set_lines(files, CPF, lines)


# ---------------------------------------------------------------------------------- the trust model (issue 11)
# Each returns the held files (name -> bytes) the auditor keeps, when the vector has any.


def _last(files):
    newest = _chain(files)[-1]
    return newest, orjson.loads(_lines(files, newest)[-1])


def _append(files, kind, body, time=None):
    newest, last = _last(files)
    _, line = encode_record(kind, STREAM, int(last["seq"]) + 1, last["hash"], time or last["time"],
                            canonical_json(body))
    files[newest] = files[newest] + line


def _format(files):
    return orjson.loads(_lines(files, F1)[0])["body"]["format"]


def _worm(files):
    return {CPF: files[CPF]}


def forged_unsigned_stream(files, seed_b):
    """Hole 1: a stream made next to the signed one, genesis key none, one approval, no checkpoint."""
    held = _worm(files)
    genesis = {"format": _format(files), "stream": "aaa.0", "writer": "forger/1", "host": "h", "pid": "1",
               "config_fingerprint": "0" * 64, "retention_days": "2555", "key_id": "none", "public_key": ""}
    h0, l0 = encode_record("genesis", "aaa.0", 0, "0" * 64, "2025-11-24T16:00:05.000000000Z", canonical_json(genesis))
    approval = {"gxp": {"user_id": "qa.head"}, "body": {"stringValue": "qa.head approved"}}
    _, l1 = encode_record("log", "aaa.0", 1, h0, "2025-11-24T16:00:05.001000000Z", canonical_json(approval))
    files["audit-aaa.0-000001.jsonl"] = l0 + l1
    return held


def record_after_close(files, seed_b):
    """Hole 2: a chain-valid record appended after the signed close checkpoint."""
    held = _worm(files)
    _append(files, "log", {"body": {"stringValue": "qa.head approved"}, "gxp": {}})
    return held


def reopened_under_another_key(files, seed_b):
    """Hole 2: the closed stream reopened (clean restart) under another key, with a fresh signed checkpoint."""
    signer = CheckpointSigner.from_seed(seed_b)
    newest, last = _last(files)
    recovery = {"reason": "clean-restart", "torn_bytes": "0", "quarantine_file": "", "quarantine_sha256": "",
                "writer": "gxp-otel-vector/1", "host": "vector-host", "pid": "4242",
                "config_fingerprint": "c0ffee" + "0" * 58, "key_id": signer.key_id, "public_key": signer.public_key_hex}
    _append(files, "recovery", recovery)
    newest, rec = _last(files)
    genesis = orjson.loads(_lines(files, F1)[0])
    statement = {"format": _format(files), "stream": STREAM, "genesis": genesis["hash"], "retention_days": "2555",
                 "seq": rec["seq"], "head": rec["hash"], "file": newest, "time": rec["time"], "reason": "recovery"}
    if statement["format"] == "gxp-otel-audit/1":
        del statement["genesis"], statement["retention_days"]
    body = {"statement": statement, "key_id": signer.key_id, "signature": signer.sign(statement)}
    _append(files, "checkpoint", body)
    files[CPF] = files[CPF] + canonical_json(body) + b"\n"


def deleted_stream(files, seed_b):
    """Hole 3: every file of the stream deleted; the auditor holds the checkpoint file."""
    held = _worm(files)
    files.clear()
    return held


def chain_files_deleted(files, seed_b):
    """Ambiguity: every chain file deleted, the local checkpoint file left: the stream it names is missing."""
    for name in _chain(files):
        del files[name]


def worm_shadowed(files, seed_b, seed_a):
    """Hole 4: a writer-key holder edits seq 3, recomputes and re-signs, and rewrites the local checkpoint file."""
    held = _worm(files)
    name, i = _where(files, 3)
    _edit(files, 3, lambda l: canonical_json(_rehash(_replace_name(orjson.loads(l), "step-", "STEP-"))))
    _rechain(files, after=(name, i), signer=CheckpointSigner.from_seed(seed_a))
    _rewrite_checkpoint_file(files)
    return held


def reviewer_key_resigns(files, seed_b):
    """Hole 6: the reviewer's key (given as a signer) re-signs the checkpoints of a rewritten trail."""
    name, i = _where(files, 3)
    _edit(files, 3, lambda l: canonical_json(_rehash(_replace_name(orjson.loads(l), "step-", "STEP-"))))
    _rechain(files, after=None, signer=CheckpointSigner.from_seed(seed_b))
    _rewrite_checkpoint_file(files)


def checkpoint_first_failure_only(files, seed_b, seed_a):
    """Ambiguity: a checkpoint whose statement is wrong *and* whose signature therefore fails is one problem (the
    first, checkpoint-mismatch); the rest of the chain recomputed and re-signed by the key holder."""
    name, i = _where(files, 10)
    lines = _lines(files, name)
    record = orjson.loads(lines[i])
    assert record["kind"] == "checkpoint"
    original = dict(record["body"])
    record["body"]["statement"] = dict(record["body"]["statement"], file="audit-vec.0-000009.jsonl")
    lines[i] = canonical_json(_rehash(record))
    _set_lines(files, name, lines)
    _rechain(files, after=(name, i), signer=CheckpointSigner.from_seed(seed_a))
    _rewrite_checkpoint_file(files)
    files[CPF] = files[CPF].replace(canonical_json(record["body"]), canonical_json(original))


def genesis_prev_not_zero(files, seed_b, seed_a):
    """Ambiguity: the genesis rule of §4.2 (prev of 64 zeros) is checked (§10.3); chain recomputed with the key."""
    lines = _lines(files, F1)
    record = orjson.loads(lines[0])
    record["prev"] = "1" * 64
    lines[0] = canonical_json(_rehash(record))
    _set_lines(files, F1, lines)
    _rechain(files, after=(F1, 0), signer=CheckpointSigner.from_seed(seed_a))
    _rewrite_checkpoint_file(files)


def second_genesis(files, seed_b, seed_a):
    """Ambiguity: a second genesis in the stream (naming another key) is bad-genesis and changes nothing."""
    name, i = _where(files, 2)
    lines = _lines(files, name)
    genesis = orjson.loads(_lines(files, F1)[0])
    record = orjson.loads(lines[i])
    record["kind"], record["body"] = "genesis", dict(genesis["body"], key_id="none", public_key="")
    lines[i] = canonical_json(_rehash(record))
    _set_lines(files, name, lines)
    _rechain(files, after=(name, i), signer=CheckpointSigner.from_seed(seed_a))
    _rewrite_checkpoint_file(files)


def _set_member(files, seq, member, value, seed_a):
    """One envelope member set to ``value``, rehashed, the rest of the chain recomputed and re-signed with the
    writer's key (so nothing but the member itself is wrong)."""
    name, i = _where(files, seq)
    _edit(files, seq, lambda l: canonical_json(_rehash({**orjson.loads(l), member: value})))
    _rechain(files, after=(name, i), signer=CheckpointSigner.from_seed(seed_a))
    _rewrite_checkpoint_file(files)


def body_deeper_than_254(files, seed_b, seed_a):
    """Ambiguity: a body nesting 255 levels (the body object is level 1) is malformed (§10.2), however it is
    hashed: the line is written byte for byte, hashed as written, the chain after it recomputed and re-signed with
    the writer's key (Go's verifier said VERIFIED before 6817fb1)."""
    name, i = _where(files, 2)
    lines = _lines(files, name)
    record = orjson.loads(lines[i])
    body = b'{"a":' + b"[" * 254 + b"]" * 254 + b"}"
    _, encoded = encode_record(record["kind"], record["stream"], int(record["seq"]), record["prev"], record["time"],
                               body)
    lines[i] = encoded.rstrip(b"\n")
    _set_lines(files, name, lines)
    _rechain(files, after=(name, i), signer=CheckpointSigner.from_seed(seed_a))
    _rewrite_checkpoint_file(files)


def public_key_in_capitals(files, seed_b, seed_a):
    """Ambiguity: a genesis public_key not in lowercase hex (§6.1) is malformed and puts no key in force, though it
    decodes to the writer's key; rehashed, the chain recomputed and re-signed with that key (self-keyed, Go's
    verifier said VERIFIED-SELF-KEYED before 99894db)."""
    lines = _lines(files, F1)
    record = orjson.loads(lines[0])
    record["body"]["public_key"] = record["body"]["public_key"].upper()
    lines[0] = canonical_json(_rehash(record))
    _set_lines(files, F1, lines)
    _rechain(files, after=(F1, 0), signer=CheckpointSigner.from_seed(seed_a))
    _rewrite_checkpoint_file(files)


def held_line_invalid(files, seed_b):
    """Ambiguity: a problem in a held copy is reported at the held file (as given) and its line."""
    lines = _lines(files, CPF)
    lines[1] = lines[1].replace(b'"reason":"rotation"', b'"reason":"whenever"')
    return {CPF: b"".join(line + b"\n" for line in lines)}


def held_lines_conflict(files, seed_b, seed_a):
    """Ambiguity: two held lines for one seq with different heads: held-conflict at the later one."""
    signer = CheckpointSigner.from_seed(seed_a)
    body = orjson.loads(_lines(files, CPF)[0])
    body["statement"]["head"] = "a" * 64
    body["signature"] = signer.sign(body["statement"])
    return {CPF: files[CPF], "other.checkpoints.jsonl": canonical_json(body) + b"\n"}


def held_copy_of_another_trail(files, seed_b, seed_a):
    """Ambiguity: a held copy of another trail with the same stream id (another genesis) is a missing stream."""
    signer = CheckpointSigner.from_seed(seed_a)
    body = orjson.loads(_lines(files, CPF)[0])
    body["statement"]["genesis"] = "b" * 64
    body["signature"] = signer.sign(body["statement"])
    return {CPF: files[CPF] + canonical_json(body) + b"\n"}


def held_line_by_unseen_key(files, seed_b):
    """Ambiguity: self-keyed, a held line verifies only under a key seen in the chain."""
    signer = CheckpointSigner.from_seed(seed_b)
    lines = _lines(files, CPF)
    body = orjson.loads(lines[0])
    body["key_id"], body["signature"] = signer.key_id, signer.sign(body["statement"])
    lines[0] = canonical_json(body)
    return {CPF: b"".join(line + b"\n" for line in lines)}


def unsealed_tail(files, seed_b):
    """A live stream: two records after the last checkpoint (the close checkpoint never came)."""
    newest = _chain(files)[-1]
    _set_lines(files, newest, _lines(files, newest)[:-1])
    files[CPF] = b"".join(line + b"\n" for line in _lines(files, CPF)[:-1])


def second_gzip_member(files, seed_b):
    """Ambiguity: a compressed file with a second gzip member appended (§2.1) is not read: torn-line at line 1."""
    import gzip

    files[F1 + ".gz"] = gzip.compress(files.pop(F1), mtime=0) + gzip.compress(b"appended\n", mtime=0)


def gz_copy_identical(files, seed_b):
    """Settled (§2): a crash between the .gz rename and the plain file's unlink leaves two identical copies."""
    import gzip

    files[F1 + ".gz"] = gzip.compress(files[F1], mtime=0)


def gz_copy_differs(files, seed_b):
    """Settled (§2): a .gz beside its plain file holding other bytes (one record edited) is copies-differ."""
    import gzip

    files[F1 + ".gz"] = gzip.compress(files[F1].replace(b'"x', b'"X', 1), mtime=0)


def damaged_gzip_crc(files, seed_b):
    """Settled (§2.1): a .gz whose CRC-32 does not match is read not at all: torn-line at line 1."""
    import gzip

    data = bytearray(gzip.compress(files.pop(F2), mtime=0))
    data[-6] ^= 0x40
    files[F2 + ".gz"] = bytes(data)


NEGATIVE = {
    "modified-body@seq-3": (modified_body, {}),
    "modified-hash@seq-3": (modified_hash, {}),
    "deleted-record@seq-4": (deleted_record, {}),
    "reordered@seq-3-4": (reordered, {}),
    "duplicate@seq-2": (duplicated, {}),
    "inserted-forged@seq-3": (inserted_forged, {}),
    "non-canonical@seq-2": (non_canonical, {}),
    "number-in-line@seq-2": (number_in_line, {}),
    "malformed-json@seq-2": (malformed_json, {}),
    "torn-line": (torn_line, {}),
    "trailing-garbage": (trailing_garbage, {}),
    "truncated-tail": (truncated_tail, {}),
    "missing-middle-file": (missing_middle_file, {}),
    "missing-newest-file": (missing_newest_file, {}),
    "missing-first-file": (missing_first_file, {}),
    "bad-signature@close-checkpoint": (bad_signature, {}),
    "recomputed-chain-without-key": (recomputed_chain_without_key, {}),
    "foreign-key-checkpoints": (foreign_key_checkpoints, {"trusted": True}),
    "checkpoint-file-edited": (checkpoint_file_edited, {}),
    "rolled-back-directory": (None, {"rollback": True}),
    # the trust model (issue 11): the reproduced holes
    "forged-unsigned-stream": (forged_unsigned_stream, {"trusted": True}),
    "record-after-close": (record_after_close, {"trusted": True}),
    "reopened-under-another-key": (reopened_under_another_key, {}),
    "deleted-stream": (deleted_stream, {"trusted": True}),
    "empty-directory": (lambda files, seed_b: files.clear(), {}),
    "chain-files-deleted-checkpoint-file-left": (chain_files_deleted, {}),
    "worm-copy-shadowed-by-local-file": (worm_shadowed, {"trusted": True, "seed_a": True}),
    "reviewer-key-resigns-checkpoints": (reviewer_key_resigns, {"trusted": True, "signer_b": True}),
    # the trust model: settled ambiguities
    "checkpoint-first-failure-only": (checkpoint_first_failure_only, {"trusted": True, "seed_a": True}),
    "genesis-prev-not-zero": (genesis_prev_not_zero, {"trusted": True, "seed_a": True}),
    "second-genesis@seq-2": (second_genesis, {"trusted": True, "seed_a": True}),
    "seq-above-int64": (None, {"member": (18, "seq", "9223372036854775808")}),
    "largest-seq@seq-17": (None, {"member": (17, "seq", "9223372036854775807")}),  # Go's next seq wrapped (467fa01)
    "invalid-calendar-date@seq-2": (None, {"member": (2, "time", "2025-02-30T16:00:05.002000000Z")}),
    "year-0000@seq-2": (None, {"member": (2, "time", "0000-03-01T16:00:05.002000000Z")}),  # Go: VERIFIED before e2566fd
    "body-deeper-than-254@seq-2": (body_deeper_than_254, {"seed_a": True}),
    "genesis-public-key-in-capitals": (public_key_in_capitals, {"seed_a": True}),
    "time-goes-backwards@seq-3": (None, {"member": (3, "time", "2025-11-24T15:00:00.000000000Z"), "ok": True,
                                         "trusted": True}),
    "held-line-invalid": (held_line_invalid, {}),
    "held-lines-conflict": (held_lines_conflict, {"trusted": True, "seed_a": True}),
    "held-copy-of-another-trail": (held_copy_of_another_trail, {"trusted": True, "seed_a": True}),
    "held-line-by-unseen-key": (held_line_by_unseen_key, {}),
    "unsealed-tail": (unsealed_tail, {"trusted": True}),
    "second-gzip-member": (second_gzip_member, {}),
    "gz-copy-identical-to-plain": (gz_copy_identical, {"ok": True, "trusted": True}),
    "gz-copy-differs-from-plain": (gz_copy_differs, {"trusted": True}),
    "damaged-gzip-crc": (damaged_gzip_crc, {"trusted": True}),
}

# The same holes in a format version 1 trail (tests/vectors/v1-base: the intact trail the writers wrote before
# version 2): version 1 trails stay verifiable and get every new check that needs no new member.
V1_NEGATIVE = {
    "intact-v1": (None, {"ok": True, "trusted": True}),
    "intact-v1-self-keyed": (None, {"ok": True}),
    **{f"v1-{name}": NEGATIVE[name] for name in (
        "forged-unsigned-stream", "record-after-close", "reopened-under-another-key", "deleted-stream",
        "worm-copy-shadowed-by-local-file", "reviewer-key-resigns-checkpoints", "held-lines-conflict",
        "second-genesis@seq-2", "unsealed-tail", "checkpoint-first-failure-only", "genesis-prev-not-zero",
        "seq-above-int64", "invalid-calendar-date@seq-2", "held-line-invalid", "held-line-by-unseen-key")},
}


def _base_steps(golden):
    import make_vectors as mv

    return [
        mv.spans_step(*[mv.span(n, f"step-{n}", attrs=[mv.kv("payload", mv.s("x" * 300))]) for n in range(1, 6)]),
        mv.logs_step(mv.log(6, mv.s("categorised as GAMP category 5"), event_name="GAMPCategorizationEvent")),
        mv.spans_step(*[mv.span(n, f"step-{n}", attrs=[mv.kv("payload", mv.s("y" * 300))]) for n in range(7, 12)]),
        {"op": "close"},
    ]


def write_negative(out: Path, golden, clock, seed_a: str, seed_b: str) -> None:
    import make_vectors as mv
    from vector_runner import vector_problems, verify_vector

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    base = {"clock": clock, "writer": mv.writer(seed=seed_a, rotate_bytes="4096"), "steps": _base_steps(golden)}
    with tempfile.TemporaryDirectory() as tmp:
        run_steps(base, Path(tmp))
        pristine = {p.name: p.read_bytes() for p in Path(tmp).iterdir() if not p.name.endswith(".lock")}
        older = {"clock": clock, "writer": base["writer"], "steps": base["steps"][:2] + [{"op": "close"}]}
    assert len(_chain(pristine)) >= 3, sorted(pristine)
    public_a = CheckpointSigner.from_seed(seed_a).public_key_hex
    signer_b = CheckpointSigner.from_seed(seed_b)
    pristine_v1 = {p.name: p.read_bytes() for p in (Path(__file__).parent / "v1-base").iterdir()}
    vectors = {"intact": (None, {"ok": True, "trusted": True}), "intact-self-keyed": (None, {"ok": True}),
               **NEGATIVE, **V1_NEGATIVE}
    for name, (tamper, options) in vectors.items():
        directory = out / name
        (directory / "trail").mkdir(parents=True)
        files = dict(pristine_v1 if name in V1_NEGATIVE else pristine)
        expected_options: dict = {}
        held = None
        if options.get("rollback"):
            with tempfile.TemporaryDirectory() as tmp:
                run_steps(older, Path(tmp))
                files = {p.name: p.read_bytes() for p in Path(tmp).iterdir() if not p.name.endswith(".lock")}
            held = {CPF: pristine[CPF]}
        elif "member" in options:
            _set_member(files, *options["member"], seed_a)
        elif tamper is not None:
            held = tamper(files, seed_b, seed_a) if options.get("seed_a") else tamper(files, seed_b)
        if held:
            (directory / "held").mkdir()
            for held_name, data in held.items():
                (directory / "held" / held_name).write_bytes(data)
            expected_options["checkpoint_files"] = [f"held/{n}" for n in held]
        if options.get("trusted"):
            expected_options["trusted_keys"] = [public_a]
        if options.get("signer_b"):
            expected_options["signers"] = [{"printed_name": "Rita Reviewer", "user_id": "rita",
                                            "key_id": signer_b.key_id, "public_key": signer_b.public_key_hex}]
        for file_name, data in files.items():
            (directory / "trail" / file_name).write_bytes(data)
        if not files:
            (directory / "trail" / ".gitkeep").write_bytes(b"")  # git keeps no empty directory; not a trail file
        report = verify_vector(directory, expected_options)
        expected = {"ok": report.ok, "verdict": report.verdict, "options": expected_options,
                    "problems": vector_problems(report, directory)}
        (directory / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
        assert report.ok == bool(options.get("ok")), (name, report.to_dict()["problems"])
