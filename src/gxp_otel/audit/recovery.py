"""Crash recovery for a writer resuming its stream (docs/audit-format.md §9).

Finds the last valid record, moves a torn final line into a quarantine file (never deleting it), and says whether
the previous session ended cleanly. Runs before the writer accepts data, under the stream's two ``flock``s (the lock
file and the newest chain file, which the caller opened and locked). Reads go through the trail's directory
descriptor, never through a symlink; the tail is read backwards in one pass (linear in the bytes read, whatever the
length of a torn line).
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass

import orjson

from gxp_otel.audit.canonical import sha256_hex
from gxp_otel.audit.format import (
    FORMAT_V1,
    FORMAT_V2,
    ChainFileName,
    chain_file_name,
    check_line,
    checkpoint_file_name,
    quarantine_file_name,
)
from gxp_otel.audit.reading import TrailFile, iter_lines
from gxp_otel.audit.trail_directory import WritableTrailDirectory

_CHUNK = 1 << 16


class RecoveryError(Exception):
    """The newest chain file is damaged beyond one torn line: the writer must not continue it."""


@dataclass(frozen=True)
class RecoveredTail:
    seq: int  # -1 when the stream has no record yet (crash before genesis was written)
    head: str
    size: int  # size of the newest plain file after removing a torn line
    clean: bool  # the last record is a ``close`` checkpoint
    needs_new_file: bool  # the newest file is compressed (closed): continue in the next one
    torn_bytes: int = 0
    quarantine_file: str = ""
    quarantine_sha256: str = ""


def _last_lines(fd: int, size: int) -> tuple[bytes, int]:
    """The trailing bytes of the file ``fd`` holding at least its last two lines (or the whole file), and their
    offset. Chunks are collected and joined once, so a torn line of any length costs one linear pass."""
    chunks: list[bytes] = []
    start, newlines = size, 0
    while start > 0 and newlines < 3:
        step = min(_CHUNK, start)
        start -= step
        chunk = os.pread(fd, step, start)
        if len(chunk) != step:
            raise RecoveryError(f"short read at offset {start}: the file changed during recovery")
        chunks.append(chunk)
        newlines += chunk.count(b"\n")
    chunks.reverse()
    return b"".join(chunks), start


def _split_tail(data: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines (without ``\\n``) of ``data`` and the torn remainder after the last ``\\n``."""
    cut = data.rfind(b"\n") + 1
    return data[:cut].split(b"\n")[:-1], data[cut:]


def _is_close(record: dict) -> bool:
    return record["kind"] == "checkpoint" and record["body"].get("statement", {}).get("reason") == "close"


def _ends_file(record: dict) -> bool:
    """The file was closed by a rotation (a crash came before the next file existed): continue in the next one."""
    if record["kind"] == "rotation":
        return True
    return record["kind"] == "checkpoint" and record["body"].get("statement", {}).get("reason") == "rotation"


def _last_record_of(directory: WritableTrailDirectory, parsed: ChainFileName) -> dict | None:
    """The last complete record of a closed file, read through the bounded reader (§2.1): a gzip bomb or an
    over-long line costs one block of memory, never the whole file."""
    last = None
    with TrailFile(directory.open(parsed.name, os.O_RDONLY), parsed.name) as file:
        for line in iter_lines(file, parsed.compressed):
            if isinstance(line, bytes) and line.endswith(b"\n"):
                last = line[:-1]
    if last is None:
        return None
    return check_line(last).record


def recover_tail(directory: WritableTrailDirectory, stream: str, files: list[ChainFileName],
                 newest_fd: int | None = None) -> RecoveredTail:
    """The last valid record of the stream whose chain files are ``files``; ``newest_fd`` is the newest (plain)
    file, opened read-write and locked by the caller, whose torn tail is quarantined and truncated."""
    newest = files[-1]
    if newest.compressed:
        record = _last_record_of(directory, newest)
        if record is None:
            raise RecoveryError(f"{directory.path / newest.name}: closed file without a readable last record")
        return RecoveredTail(int(record["seq"]), record["hash"], 0, _is_close(record), needs_new_file=True)

    assert newest_fd is not None, "the newest plain chain file must be opened and locked by the caller"
    path = directory.path / newest.plain
    size = os.fstat(newest_fd).st_size
    data, offset = _last_lines(newest_fd, size)
    lines, torn = _split_tail(data)
    if offset > 0:
        lines = lines[1:]  # the first piece may be a partial line of the chunk boundary
    good_end = size - len(torn)
    record = None
    if lines:
        result = check_line(lines[-1])
        if result.problem is None:
            record = result.record
        else:  # a complete-looking but invalid final line is treated as torn (§9.1)
            good_end -= len(lines[-1]) + 1
            torn = lines[-1] + b"\n" + torn
            if len(lines) > 1:
                before = check_line(lines[-2])
                if before.problem is not None:
                    raise RecoveryError(
                        f"{path}: the last two lines are invalid ({before.problem}); refusing to continue this chain"
                    )
                record = before.record
    quarantine = ""
    if torn:
        after_seq = int(record["seq"]) + 1 if record else 0
        quarantine = _quarantine(directory, stream, newest.index, after_seq, torn)
        os.ftruncate(newest_fd, good_end)
        os.fsync(newest_fd)
    if record is None and good_end > 0:
        raise RecoveryError(f"{path}: no valid record found at the end of the file")
    if record is None and len(files) > 1:
        record = _last_record_of(directory, files[-2])
    extra = {"torn_bytes": len(torn), "quarantine_file": quarantine, "quarantine_sha256": sha256_hex(torn) if torn else ""}
    if record is None:
        return RecoveredTail(-1, "0" * 64, 0, False, False, **extra)
    return RecoveredTail(int(record["seq"]), record["hash"], good_end, _is_close(record), _ends_file(record), **extra)


def _quarantine(directory: WritableTrailDirectory, stream: str, index: int, seq: int, data: bytes) -> str:
    base = quarantine_file_name(stream, index, seq)
    name, n = base, 1
    while True:
        try:
            fd = directory.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            break
        except FileExistsError:
            n += 1
            name = base[: -len(".bin")] + f".{n}.bin"
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    directory.fsync()
    return name


def resumed_identity(directory: WritableTrailDirectory, stream_id: str) -> tuple[str, str | None, str]:
    """``(format, genesis hash, retention_days)`` a continued stream keeps from its genesis (§7).

    A version 2 stream's statements name its genesis hash and retention, taken from the first line of its checkpoint
    file, else from its genesis record (in the first chain file, plain or compressed); anything else is version 1.
    """
    first_file = chain_file_name(stream_id, 1)
    for name in (checkpoint_file_name(stream_id), first_file, first_file + ".gz"):
        try:
            fd = directory.open(name, os.O_RDONLY)
        except OSError:
            continue
        try:
            head = os.pread(fd, 65536, 0)
            if name.endswith(".gz"):
                head = zlib.decompressobj(wbits=31).decompress(head, 65536)
            first = orjson.loads(head.split(b"\n", 1)[0])
        except (ValueError, zlib.error):
            continue
        finally:
            os.close(fd)
        if not isinstance(first, dict):
            continue
        statement = first.get("statement") if first.get("kind") is None else None
        if statement is not None and statement.get("format") == FORMAT_V2:
            return FORMAT_V2, statement["genesis"], statement["retention_days"]
        if first.get("kind") == "genesis" and first["body"].get("format") == FORMAT_V2:
            return FORMAT_V2, first["hash"], first["body"]["retention_days"]
        break
    return FORMAT_V1, None, ""
