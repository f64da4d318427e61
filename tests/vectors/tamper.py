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
from gxp_otel.audit.verifier import verify_trail
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
    for name in _chain(files):
        lines = _lines(files, name)
        for i, line in enumerate(lines):
            record = orjson.loads(line)
            if not started:
                if (name, i) == after:
                    started = True
                prev = record["hash"]
                continue
            if prev is not None:
                record["prev"] = prev
            if record["kind"] == "checkpoint":
                statement = record["body"]["statement"]
                statement["head"] = record["prev"]
                if signer is not None:
                    record["body"]["key_id"] = signer.key_id
                    record["body"]["signature"] = signer.sign(statement)
            if record["kind"] in ("genesis", "recovery") and signer is not None:
                record["body"]["key_id"] = signer.key_id
                record["body"]["public_key"] = signer.public_key_hex
            record = _rehash(record)
            prev = record["hash"]
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

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    base = {"clock": clock, "writer": mv.writer(seed=seed_a, rotate_bytes="4096"), "steps": _base_steps(golden)}
    with tempfile.TemporaryDirectory() as tmp:
        run_steps(base, Path(tmp))
        pristine = {p.name: p.read_bytes() for p in Path(tmp).iterdir() if not p.name.endswith(".lock")}
        older = {"clock": clock, "writer": base["writer"], "steps": base["steps"][:2] + [{"op": "close"}]}
    assert len(_chain(pristine)) >= 3, sorted(pristine)
    public_a = CheckpointSigner.from_seed(seed_a).public_key_hex
    vectors = {"intact": (None, {}), **NEGATIVE}
    for name, (tamper, options) in vectors.items():
        directory = out / name
        (directory / "trail").mkdir(parents=True)
        files = dict(pristine)
        expected_options: dict = {}
        if options.get("rollback"):
            with tempfile.TemporaryDirectory() as tmp:
                run_steps(older, Path(tmp))
                files = {p.name: p.read_bytes() for p in Path(tmp).iterdir() if not p.name.endswith(".lock")}
            (directory / "held").mkdir()
            (directory / "held" / CPF).write_bytes(pristine[CPF])
            expected_options["checkpoint_files"] = [f"held/{CPF}"]
        elif tamper is not None:
            tamper(files, seed_b)
        if options.get("trusted"):
            expected_options["trusted_keys"] = [public_a]
        for file_name, data in files.items():
            (directory / "trail" / file_name).write_bytes(data)
        report = verify_trail(
            directory / "trail",
            trusted_keys=expected_options.get("trusted_keys", []),
            checkpoint_files=[directory / p for p in expected_options.get("checkpoint_files", [])],
        )
        expected = {
            "ok": report.ok,
            "options": expected_options,
            "problems": [{"file": p.file, "line": p.line, "seq": p.seq, "kind": p.kind} for p in report.problems],
        }
        (directory / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
        assert report.ok == (name == "intact"), (name, report.to_dict()["problems"])
