"""Shared by the cross-verifier red team (tests/audit/test_attacks_cross_*.py, issue 16): ``every_path`` verifies one
hostile trail with Python in one process, Python with two workers (runs of two records: the ``short_runs`` fixture,
which each test module imports so that it applies there) and the Go verifier (skipped when build/gxpaudit-verify is
absent), asserts the three agree and returns their verdict and problems; ``forge`` is what a holder of the writer's
key does to a trail.

The attacker can write the trail directory and, where a test says so, holds the writer's key (every edited record
re-chained, every checkpoint re-signed): then only the rule under attack can object. Each test says whether its
attacks were a HOLE (the verifiers disagreed, or a forgery was VERIFIED) before a fix, or were already CAUGHT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from attack_helpers import ALICE, BOB, CHECKPOINT_FILE, STATEMENT_MEMBERS, K, go_verdict, log, rechain, writer
from gxp_otel.audit import parallel_verify
from gxp_otel.audit.signing import CheckpointSigner
from gxp_otel.audit.verifier import verify_trail
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
    rechain(directory, stream=stream, edit=edit, statement=STATEMENT_MEMBERS, post=post, write_local=write_local)


def two_checkpoints(directory: Path) -> None:
    """Genesis, 3 records, an interval checkpoint (seq 4), 3 records, the close checkpoint (seq 8)."""
    w = writer(directory)
    for i in range(3):
        w.append("log", [log(f"r{i}")])
    w.checkpoint("interval")
    for i in range(3):
        w.append("log", [log(f"s{i}")])
    w.close()
