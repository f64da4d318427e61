"""Reading a trail for review: which chain files, in which order, and every record with its file, line and offset.

This is a reader, not a verifier: lines that do not parse are counted and skipped (``gxp-otel verify`` judges them).
Files are read in the verifier's order (streams by id, files by number; when a file exists plain and ``.gz``, the
plain one). Memory is constant: one block of a file at a time.

Searching for one value (a trace id, a run id, a user) uses a literal *needle*: blocks are searched with
``bytes.find`` and only the lines holding the needle are parsed, which is what makes a full scan run at disk speed.
The needle only pre-selects lines; every candidate is parsed and the filter is applied to the record itself.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from gxp_otel.audit.format import ChainFileName, parse_chain_file_name

BLOCK = 1 << 22
_PLAIN_VALUE = re.compile(r"^[A-Za-z0-9._:@+ -]{1,200}$")  # written by JCS exactly as orjson writes it


@dataclass(frozen=True)
class Hit:
    """One record of the trail and where it is: chain file name, 1-based line, byte offset (decompressed for .gz)."""

    file: str
    line: int
    offset: int
    record: dict

    @property
    def seq(self) -> int:
        return int(self.record["seq"])


class ScanStats:
    """What a scan read: bytes (as stored), lines, and lines that did not parse as a record."""

    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0
        self.unparsed = 0


def chain_files(path: str | os.PathLike[str]) -> list[tuple[Path, ChainFileName]]:
    """Every chain file of the trail at ``path`` (a directory or one chain file: then only its stream), in order."""
    root = Path(path)
    only = None
    if root.is_file():
        parsed = parse_chain_file_name(root.name)
        only = parsed.stream if parsed else None
        root = root.parent
    by_key: dict[tuple[str, int], ChainFileName] = {}
    for name in os.listdir(root):
        parsed = parse_chain_file_name(name)
        if parsed is None or (only is not None and parsed.stream != only):
            continue
        key = (parsed.stream, parsed.index)
        if key not in by_key or by_key[key].compressed:  # the plain file wins (crash during compression)
            by_key[key] = parsed
    return [(root / by_key[key].name, by_key[key]) for key in sorted(by_key)]


def open_chain_file(path: Path, parsed: ChainFileName) -> IO[bytes]:
    return gzip.open(path, "rb") if parsed.compressed else open(path, "rb")


def parse_record(raw: bytes) -> dict | None:
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(record) is not dict or type(record.get("body")) is not dict or type(record.get("seq")) is not str:
        return None
    return record


def iter_records(path: str | os.PathLike[str], stats: ScanStats | None = None) -> Iterator[Hit]:
    """Every record of the trail, parsed, in file and line order."""
    stats = stats if stats is not None else ScanStats()
    for file_path, parsed in chain_files(path):
        yield from iter_file_records(file_path, parsed, stats)


def iter_file_records(file_path: Path, parsed: ChainFileName, stats: ScanStats | None = None, *,
                      offset: int = 0, line: int = 0) -> Iterator[Hit]:
    """The records of one chain file from byte ``offset`` (the start of line ``line + 1``) to its end."""
    stats = stats if stats is not None else ScanStats()
    try:
        with open_chain_file(file_path, parsed) as handle:
            handle.seek(offset)
            for number, raw in enumerate(handle, start=line + 1):
                stats.lines += 1
                record = parse_record(raw)
                if record is None:
                    stats.unparsed += 1
                else:
                    yield Hit(parsed.name, number, offset, record)
                offset += len(raw)
    except (OSError, EOFError):
        stats.unparsed += 1
    stats.bytes += file_path.stat().st_size


def iter_needle(path: str | os.PathLike[str], needle: bytes | tuple[bytes, ...],
                stats: ScanStats | None = None) -> Iterator[Hit]:
    """The records whose line contains ``needle`` (or any of several), found block by block without parsing the
    other lines."""
    stats = stats if stats is not None else ScanStats()
    needles = (needle,) if isinstance(needle, bytes) else needle
    for file_path, parsed in chain_files(path):
        try:
            with open_chain_file(file_path, parsed) as handle:
                yield from _needle_in_file(handle, parsed.name, needles, stats)
        except (OSError, EOFError):
            stats.unparsed += 1
        stats.bytes += file_path.stat().st_size


def _line_starts(chunk: bytes, needle: bytes) -> Iterator[int]:
    pos = chunk.find(needle)
    while pos != -1:
        start = chunk.rfind(b"\n", 0, pos) + 1
        yield start
        end = chunk.find(b"\n", pos)
        if end == -1:
            return
        pos = chunk.find(needle, end)


def _needle_in_file(handle: IO[bytes], name: str, needles: tuple[bytes, ...], stats: ScanStats) -> Iterator[Hit]:
    base_offset, base_line, carry = 0, 0, b""
    while True:
        block = handle.read(BLOCK)
        data = carry + block if carry else block
        if not block:
            cut = len(data)  # a last line without newline (torn) is still looked at
        else:
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
        chunk, carry = data[:cut], data[cut:]
        starts = list(_line_starts(chunk, needles[0])) if len(needles) == 1 else \
            sorted({s for n in needles for s in _line_starts(chunk, n)})
        line, counted_to = base_line, 0
        for start in starts:
            end = chunk.find(b"\n", start) + 1 or len(chunk)
            line += chunk.count(b"\n", counted_to, start)
            counted_to = start
            record = parse_record(chunk[start:end])
            if record is None:
                stats.unparsed += 1
            else:
                yield Hit(name, line + 1, base_offset + start, record)
        newlines = chunk.count(b"\n")
        stats.lines += newlines + (1 if not block and chunk and not chunk.endswith(b"\n") else 0)
        base_line += newlines
        base_offset += len(chunk)
        if not block:
            return


def read_line_at(path: Path, parsed: ChainFileName, offsets: list[int]) -> Iterator[tuple[int, bytes]]:
    """The lines starting at ``offsets`` (ascending) of one chain file; ``.gz`` files are decompressed up to them."""
    with open_chain_file(path, parsed) as handle:
        for offset in offsets:
            handle.seek(offset)
            yield offset, handle.readline()


def needle_for(member: str, value: str) -> bytes | None:
    """The bytes ``"member":"value"`` as they appear in a canonical line, when that form is certain."""
    if not _PLAIN_VALUE.match(value):
        return None
    return b'"' + member.encode() + b'":"' + value.encode() + b'"'
