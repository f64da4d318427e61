"""Shared by the red-team tests (tests/audit/test_attacks_*.py): real trails written by the real Python writer,
verified by both verifiers (`verify_trail` and build/gxpaudit-verify) with the auditor's options, and the two
answers compared.

Every attack test states whether the attack was a hole (a false VERIFIED, or an answer that did not say what
happened) before its fix, or was already caught.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import orjson
import pytest

from gxp_otel.audit.canonical import canonical_json, encode_record
from gxp_otel.audit.signing import CheckpointSigner
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter
from seeded_signers import Signer

ROOT = Path(__file__).resolve().parents[2]
GO_VERIFY = ROOT / "build" / "gxpaudit-verify"
WRITER_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"  # RFC 8032 test 1
K = CheckpointSigner.from_seed(WRITER_SEED)
START = 1_577_836_800 * 10**9  # 2020-01-01T00:00:00Z


ALICE = Signer("Alice Example", "alice", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
BOB = Signer("Bob Builder", "bob", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")


class Clock:
    def __init__(self, start: int = START, step: int = 10**9) -> None:
        self.now, self.step = start - step, step

    def __call__(self) -> int:
        self.now += self.step
        return self.now


def writer(directory: Path, stream: str = "app.0", clock=None, **options: Any) -> AuditTrailWriter:
    return AuditTrailWriter(directory, stream_id=stream, signing_key=options.pop("signing_key", K), compress=False,
                            clock=clock or Clock(), host="attack", pid=1, writer_name="gxp-otel-attack/1",
                            config_fingerprint="0" * 64, checkpoint_interval=1e9, checkpoint_records=10**9,
                            **options)


CHECKPOINT_FILE = "audit-app.0.checkpoints.jsonl"


def rotated_trail(directory: Path, records: int = 24) -> Path:
    """A signed trail of several closed files (size rotation); returns the auditor's WORM copy of its checkpoints."""
    w = writer(directory, rotate_bytes=4096)
    for i in range(records):
        w.append("log", [log(f"record {i} " + "x" * 400)])
    w.close()
    worm = directory.parent / "worm"
    worm.mkdir(exist_ok=True)
    shutil.copy(directory / CHECKPOINT_FILE, worm / CHECKPOINT_FILE)
    assert (directory / "audit-app.0-000002.jsonl").exists(), "the trail did not rotate"
    return worm / CHECKPOINT_FILE


def log(text: str, attributes: dict[str, Any] | None = None, body: dict[str, Any] | None = None) -> dict:
    return {"gxp": {"user_id": "qa.author"}, "attributes": {"note": {"stringValue": text}, **(attributes or {})},
            "body": body if body is not None else {"stringValue": text}}


def python_verdict(trail: Path, options: dict[str, Any]):
    return verify_trail(trail, trusted_keys=options.get("trusted_keys", []),
                        checkpoint_files=options.get("checkpoint_files", []),
                        signers=options.get("signers", []), purgers=options.get("purgers", []))


def go_verdict(trail: Path, options: dict[str, Any], work: Path) -> dict[str, Any]:
    if not GO_VERIFY.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{GO_VERIFY} missing: run `make collector`")
        pytest.skip(f"{GO_VERIFY} missing: run `make collector`")
    args: list[str] = []
    for key in options.get("trusted_keys", []):
        args += ["--trusted-key", key]
    for held in options.get("checkpoint_files", []):
        args += ["--checkpoints", str(held)]
    for role in ("signers", "purgers"):
        for j, entry in enumerate(options.get(role, [])):
            path = work / f"{role}-{j}.json"
            path.write_text(json.dumps(entry))
            args += ["--" + role[:-1], str(path)]
    done = subprocess.run([str(GO_VERIFY), "--json", *args, str(trail)], capture_output=True, text=True, timeout=60)
    assert done.returncode in (0, 1, 3, 4), done.stderr
    return json.loads(done.stdout)


def both(trail: Path, options: dict[str, Any], work: Path) -> tuple[str, list[tuple[Any, ...]]]:
    """The verdict and problems (file, line, seq, kind) both verifiers give; they must be the same."""
    python = python_verdict(trail, options)
    go = go_verdict(trail, options, work)
    mine = [(p.file, p.line, p.seq, p.kind) for p in python.problems]
    theirs = [(p["file"], p["line"], p["seq"], p["kind"]) for p in go["problems"]]
    assert (python.verdict, mine) == (go["verdict"], theirs), "the two verifiers disagree"
    return python.verdict, mine


def kinds(problems: list[tuple[Any, ...]]) -> list[str]:
    return [p[3] for p in problems]


def anchored(*signers: Signer, held: list[Path] | None = None) -> dict[str, Any]:
    return {"trusted_keys": [K.public_key_hex], "signers": [s.entry for s in signers],
            "checkpoint_files": held or []}


STATEMENT_MEMBERS = ("head", "genesis", "time", "seq")


def rechain(directory: Path, *, stream: str = "app.0", edit: Callable[[dict], None] | None = None,
            statement: tuple[str, ...] = ("head", "genesis"), post: Callable[[dict], None] | None = None,
            line: Callable[[dict, bytes], tuple[str, bytes] | None] | None = None, write_local: bool = True) -> None:
    """What a holder of the writer's key K does to stream ``stream`` of ``directory``, record by record in file and
    line order: ``edit(record)``; its prev set to the hash of the line before it; for a checkpoint, the statement
    members named in ``statement`` (of :data:`STATEMENT_MEMBERS`: the chain's head and genesis, the record's time,
    its seq minus one) recomputed and the statement re-signed; ``post(record)`` (an edit made after signing); then
    the line written as the canonical encoding, or as ``line(record, canonical body)`` returns it (its hash and
    bytes) when that is not None. With ``write_local`` the stream's checkpoint file is rewritten from the chain's
    checkpoints."""
    prev = genesis = None
    checkpoints = []
    for path in sorted(directory.glob(f"audit-{stream}-*.jsonl")):
        out = []
        for raw in path.read_bytes().splitlines():
            record = orjson.loads(raw)
            if edit is not None:
                edit(record)
            if prev is not None:
                record["prev"] = prev
            if record["kind"] == "checkpoint":
                chain = {"head": record["prev"], "genesis": genesis, "time": record["time"],
                         "seq": str(int(record["seq"]) - 1)}
                record["body"]["statement"].update({member: chain[member] for member in statement})
                record["body"]["signature"] = K.sign(record["body"]["statement"])
            if post is not None:
                post(record)
            if record["kind"] == "checkpoint":
                checkpoints.append(record["body"])
            body = canonical_json(record["body"])
            written = line(record, body) if line is not None else None
            prev, encoded = written if written is not None else encode_record(
                record["kind"], record["stream"], int(record["seq"]), record["prev"], record["time"], body)
            genesis = genesis or prev
            out.append(encoded)
        path.write_bytes(b"".join(out))
    if write_local:
        (directory / f"audit-{stream}.checkpoints.jsonl").write_bytes(
            b"".join(canonical_json(body) + b"\n" for body in checkpoints))
