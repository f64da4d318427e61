"""Red team across verifiers (issue 16), files and streams: rotation, gz copies and the unknown-stream rule (§10.7).
Every hostile trail is verified on every path (cross_verifier_helpers.every_path: Python in one process and with two
workers, and Go), which must agree with each other and with the spec."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Callable

import pytest

from attack_helpers import Clock, log, rotated_trail, writer
from cross_verifier_helpers import (  # noqa: F401 (short_runs: the autouse fixture)
    ANCHORED, CP, F1, SELF, every_path, forge, short_runs,
)


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
