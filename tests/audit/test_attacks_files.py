"""Red team, files (docs/audit-format.md §2, §2.1): a chain file present twice (plain and `.gz`), damaged gzip,
and other file-level tricks, against both verifiers with the auditor's key and WORM copy.

Each test says whether the attack was a HOLE before this change (a false VERIFIED, or the two verifiers giving
different answers) or was already CAUGHT.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from attack_helpers import K, anchored, both, kinds, log, rotated_trail, writer

F1, F2 = "audit-app.0-000001.jsonl", "audit-app.0-000002.jsonl"


def compress(directory: Path, name: str, *, keep_plain: bool, content: bytes | None = None) -> None:
    data = (directory / name).read_bytes() if content is None else content
    (directory / (name + ".gz")).write_bytes(gzip.compress(data, mtime=0))
    if not keep_plain:
        (directory / name).unlink()


def test_a_crash_during_compression_leaves_two_identical_copies_and_verifies(tmp_path: Path) -> None:
    """CAUGHT (not an attack): the state a crash between the .gz rename and the plain unlink leaves."""
    directory = tmp_path / "trail"
    held = rotated_trail(directory)
    compress(directory, F1, keep_plain=True)
    verdict, problems = both(directory, anchored(held=[held]), tmp_path)
    assert (verdict, problems) == ("VERIFIED", [])


def test_a_gz_copy_with_other_records_next_to_the_plain_file_is_copies_differ(tmp_path: Path) -> None:
    """HOLE: the verifiers read only the plain file and ignored the .gz, so a forged .gz (one record edited)
    beside the real plain file was VERIFIED; whoever later "finishes the compression" by deleting the plain file
    makes the forgery the record."""
    directory = tmp_path / "trail"
    held = rotated_trail(directory)
    forged = (directory / F1).read_bytes().replace(b"record 1 ", b"record X ")
    compress(directory, F1, keep_plain=True, content=forged)
    verdict, problems = both(directory, anchored(held=[held]), tmp_path)
    assert (verdict, problems) == ("NOT VERIFIED", [(F1, None, None, "copies-differ")])


def test_a_plain_copy_edited_next_to_the_real_gz_is_reported_twice_over(tmp_path: Path) -> None:
    """CAUGHT before (the edited record is `modified`), now also copies-differ."""
    directory = tmp_path / "trail"
    held = rotated_trail(directory)
    compress(directory, F1, keep_plain=False)
    plain = gzip.decompress((directory / (F1 + ".gz")).read_bytes())
    (directory / F1).write_bytes(plain.replace(b"record 1 ", b"record X "))
    verdict, problems = both(directory, anchored(held=[held]), tmp_path)
    assert verdict == "NOT VERIFIED"
    assert kinds(problems)[:2] == ["copies-differ", "modified"]


def test_a_damaged_gz_copy_or_a_link_named_like_it_is_copies_differ(tmp_path: Path) -> None:
    """HOLE: a truncated .gz (or a symbolic link under its name) beside the plain file was ignored (VERIFIED)."""
    directory = tmp_path / "trail"
    held = rotated_trail(directory)
    compress(directory, F1, keep_plain=True)
    packed = directory / (F1 + ".gz")
    packed.write_bytes(packed.read_bytes()[:-9])
    assert kinds(both(directory, anchored(held=[held]), tmp_path)[1]) == ["copies-differ"]
    packed.unlink()
    os.symlink(directory / F2, packed)
    assert kinds(both(directory, anchored(held=[held]), tmp_path)[1]) == ["copies-differ"]


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1:]


@pytest.mark.parametrize("where", ["deflate-start", "deflate-middle", "crc", "isize", "truncated", "second-member"])
def test_a_damaged_gz_is_one_torn_line_at_line_1_in_both_verifiers(where: str, tmp_path: Path) -> None:
    """HOLE (a disagreement): Python read no line of the block that failed, Go handed on the lines decoded before
    it (malformed and modified lines, then torn-line), so the two verifiers reported different problems for one
    file (the differential test's GZ_DAMAGE seeds). Now a .gz is checked whole first (§2.1)."""
    directory = tmp_path / "trail"
    held = rotated_trail(directory)
    compress(directory, F2, keep_plain=False)
    packed = directory / (F2 + ".gz")
    data = packed.read_bytes()
    damaged = {"deflate-start": lambda: flip(data, 12), "deflate-middle": lambda: flip(data, len(data) // 2),
               "crc": lambda: flip(data, len(data) - 6), "isize": lambda: flip(data, len(data) - 2),
               "truncated": lambda: data[: len(data) // 2],
               "second-member": lambda: data + gzip.compress(b"appended\n", mtime=0)}[where]()
    packed.write_bytes(damaged)
    verdict, problems = both(directory, anchored(held=[held]), tmp_path)
    assert verdict == "NOT VERIFIED"
    assert problems[0] == (F2 + ".gz", 1, None, "torn-line"), problems
    assert all(p[0] != F2 + ".gz" for p in problems[1:]), problems  # nothing else of the damaged file


def test_a_hard_link_of_another_streams_file_under_a_chain_file_name_is_caught(tmp_path: Path) -> None:
    """CAUGHT: a hard link is a regular file (no-follow cannot refuse it); its records name another stream."""
    directory = tmp_path / "trail"
    held = rotated_trail(directory)
    other = tmp_path / "other"
    w = writer(other, stream="app.1")
    w.append("log", [log("other")])
    w.close()
    (directory / F2).unlink()
    os.link(other / "audit-app.1-000001.jsonl", directory / F2)
    verdict, problems = both(directory, anchored(held=[held]), tmp_path)
    assert verdict == "NOT VERIFIED" and "malformed" in kinds(problems)


def test_a_truncated_last_line_with_a_valid_looking_prefix_is_torn(tmp_path: Path) -> None:
    """CAUGHT: the last line (the close checkpoint) without its `\\n` is torn-line, and the records it would have
    sealed are an unsealed tail."""
    directory = tmp_path / "trail"
    held = rotated_trail(directory)
    newest = sorted(directory.glob("audit-app.0-*.jsonl"))[-1]
    lines = newest.read_bytes().split(b"\n")[:-1]
    newest.write_bytes(b"".join(line + b"\n" for line in lines[:-1]) + lines[-1])
    verdict, problems = both(directory, anchored(held=[held]), tmp_path)
    assert verdict == "NOT VERIFIED"
    assert kinds(problems) == ["unsealed-tail", "torn-line"]


def test_a_writer_key_given_but_the_stream_signed_by_another_is_unknown(tmp_path: Path) -> None:
    """CAUGHT: sanity check of the helper's anchoring (the trail's own key is K)."""
    directory = tmp_path / "trail"
    rotated_trail(directory)
    verdict, _ = both(directory, {"trusted_keys": [K.public_key_hex]}, tmp_path)
    assert verdict == "VERIFIED"
