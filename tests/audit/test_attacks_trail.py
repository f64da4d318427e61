"""Red team, chains and held copies (docs/audit-format.md §10): replays, duplicates, records moved between files,
Unicode look-alikes, against both verifiers with the auditor's writer key and WORM copy.

Each test says whether the attack was a HOLE before this change or was already CAUGHT (or is harmless: then the
test pins the verdict both verifiers give).
"""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

from attack_helpers import ALICE, START, Signer, anchored, both, kinds, log, rotated_trail, writer
from gxp_otel.part11.esign import signature_body
from gxp_otel.part11.statements import record_reference

F1, F2 = "audit-app.0-000001.jsonl", "audit-app.0-000002.jsonl"
CPF = "audit-app.0.checkpoints.jsonl"


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_a_record_moved_into_the_previous_file_after_its_rotation_checkpoint_verifies(tmp_path: Path) -> None:
    """Not a hole, pinned: the first record of file 2 moved to the end of file 1, after file 1's rotation
    checkpoint. Every record, hash and the chain order are unchanged, so nothing the trail says about what happened
    changed; both verifiers say VERIFIED. What it could be used for is closed elsewhere: `retention purge` only
    removes a file that ends with its rotation record and checkpoint (this one no longer does), and a tombstone's
    last_seq/last_hash must be those of the file's embedded checkpoint (§12.3 condition 6), so a purge cannot take
    the moved record along. (A rule "nothing after a rotation checkpoint in its file" was not added: the writers'
    crash recovery is specified by what they may write after close, §10.3, and such a rule needs its own vectors.)"""
    directory = tmp_path / "trail"
    held = rotated_trail(directory)
    first, second = lines(directory / F1), lines(directory / F2)
    (directory / F1).write_bytes(b"".join(first + second[:1]))
    (directory / F2).write_bytes(b"".join(second[1:]))
    assert both(directory, anchored(held=[held]), tmp_path) == ("VERIFIED", [])


def test_the_worm_copy_given_twice_and_duplicate_held_lines_are_harmless(tmp_path: Path) -> None:
    """Harmless: the same held line twice (a witness re-sent it, an auditor passed the copy twice) seals the same
    head for its seq: no held-conflict."""
    directory = tmp_path / "trail"
    held = rotated_trail(directory)
    doubled = held.parent / "doubled.checkpoints.jsonl"
    doubled.write_bytes(held.read_bytes() * 2)
    assert both(directory, anchored(held=[held, held, doubled]), tmp_path) == ("VERIFIED", [])


def test_a_checkpoint_record_replayed_later_in_the_chain_is_a_duplicate(tmp_path: Path) -> None:
    """CAUGHT: an old signed checkpoint record appended again (a replayed seal) is duplicate, not a fresh seal."""
    directory = tmp_path / "trail"
    held = rotated_trail(directory)
    checkpoint = next(line for line in lines(directory / F1) if b'"kind":"checkpoint"' in line)
    newest = sorted(directory.glob("audit-app.0-*.jsonl"))[-1]
    newest.write_bytes(newest.read_bytes() + checkpoint)
    verdict, problems = both(directory, anchored(held=[held]), tmp_path)
    assert verdict == "NOT VERIFIED" and "duplicate" in kinds(problems)


def test_the_worm_copy_of_a_stream_placed_as_the_local_file_of_another_stream(tmp_path: Path) -> None:
    """CAUGHT: app.0's checkpoint lines copied under app.1's checkpoint file name (one stream's seals offered as
    another's): the directory's own file naming another stream is bad-checkpoint-file."""
    directory = tmp_path / "trail"
    held = rotated_trail(directory)
    shutil.copy(held, directory / "audit-app.1.checkpoints.jsonl")
    verdict, problems = both(directory, anchored(held=[held]), tmp_path)
    assert verdict == "NOT VERIFIED" and "bad-checkpoint-file" in kinds(problems)


def signed_by(directory: Path, identity: Signer) -> None:
    w = writer(directory)
    subject = w.append("log", [log("approve")])[0]
    w.append("signature", [signature_body(ALICE.private, identity, record_reference("app.0", *subject),
                                          meaning="approval", reason="", authentication="all-components",
                                          time_ns=START + 5 * 10**9)])
    w.close()


def test_a_printed_name_in_another_unicode_normalisation_than_the_registry_is_not_the_registered_one(
        tmp_path: Path) -> None:
    """CAUGHT (both verifiers compare identities byte for byte): Alice's key signing as "Zoë" in NFD while the
    registry says NFC "Zoë" is bad-esignature; a Cyrillic look-alike user id likewise. A verifier must never
    normalise identities: two strings that render alike are two identities."""
    zoe_nfc = unicodedata.normalize("NFC", "Zoë Example")
    registered = Signer(zoe_nfc, "alice", ALICE.seed)
    for i, (name, user) in enumerate([(unicodedata.normalize("NFD", zoe_nfc), "alice"), (zoe_nfc, "\u0430lice")]):
        directory = tmp_path / f"trail{i}"
        signed_by(directory, Signer(name, user, ALICE.seed))
        verdict, problems = both(directory, anchored(registered), tmp_path)
        assert (verdict, kinds(problems)) == ("NOT VERIFIED", ["bad-esignature"])
    directory = tmp_path / "same"
    signed_by(directory, registered)
    assert both(directory, anchored(registered), tmp_path) == ("VERIFIED", [])


def test_chain_file_names_with_look_alike_digits_or_a_trailing_space_are_not_trail_files(tmp_path: Path) -> None:
    """CAUGHT: the real file 2 renamed with a fullwidth digit, or with a trailing space, is not a trail file: file 2
    is missing (and the WORM copy shows what it sealed)."""
    for i, name in enumerate(["audit-app.0-00000\uff12.jsonl", F2 + " "]):
        directory = tmp_path / f"trail{i}"
        held = rotated_trail(directory)
        (directory / F2).rename(directory / name)
        verdict, problems = both(directory, anchored(held=[held]), tmp_path)
        assert verdict == "NOT VERIFIED" and (F2, None, None, "missing-file") in problems


def test_a_chain_file_given_instead_of_the_directory_verifies_its_stream_only_and_says_so(tmp_path: Path) -> None:
    """Scope, pinned (§10.1): `verify trail/audit-app.0-000001.jsonl` with the WORM copies of app.0 and app.1,
    app.1 deleted: both verifiers say VERIFIED for stream app.0 (only it was asked for) and note on it that only it
    was verified; the directory gives missing-stream."""
    directory = tmp_path / "trail"
    worm = tmp_path / "worm"
    worm.mkdir()
    for stream in ("app.0", "app.1"):
        w = writer(directory, stream=stream)
        w.append("log", [log("x")])
        w.close()
        shutil.copy(directory / f"audit-{stream}.checkpoints.jsonl", worm)
    for path in directory.glob("audit-app.1*"):
        path.unlink()
    options = anchored(held=sorted(worm.iterdir()))
    assert both(directory / F1, options, tmp_path) == ("VERIFIED", [])
    from attack_helpers import go_verdict, python_verdict
    python, go = python_verdict(directory / F1, options), go_verdict(directory / F1, options, tmp_path)
    assert [s.stream for s in python.streams] == [s["stream"] for s in go["streams"]] == ["app.0"]
    assert any("only this stream was verified" in n for n in python.streams[0].notes)
    assert any("only this stream was verified" in n for n in go["streams"][0]["notes"])
    assert kinds(both(directory, options, tmp_path)[1]) == ["missing-stream"]
