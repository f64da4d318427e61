"""Reading a trail for review: which chain files, in which order, and every record with its file, line and offset.

This is a reader, not a verifier: lines that do not parse are counted and skipped (``gxp-otel verify`` judges them).
Files are read in the verifier's order (streams by id, files by number; when a file exists plain and ``.gz``, the
plain one), through the bounded reader of docs/audit-format.md §2.1 (:mod:`gxp_otel.audit.reading`): a name that is
a link, FIFO or device is not read (counted as unreadable), a line over the limit or a bad ``.gz`` is an unreadable
line. Memory is constant: one block of a file (plus at most one line) at a time.

Searching for one value (a trace id, a run id, a user) uses a literal *needle*: blocks are searched with
``bytes.find`` and only the lines holding the needle are parsed, which is what makes a full scan run at disk speed.
The needle only pre-selects lines; every candidate is parsed and the filter is applied to the record itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import orjson

from gxp_otel.audit.format import (
    _ENVELOPE_RE,
    ENVELOPE_MEMBERS,
    MAX_SEQ,
    ChainFileName,
    parse_chain_file_name,
    seq_in_range,
)
from gxp_otel.audit.reading import NotRegularFile, TrailFile, iter_line_blocks, iter_lines, lines_at, open_trail_file

BLOCK = 1 << 22
_PLAIN_VALUE = re.compile(r"\A[A-Za-z0-9._:@+ -]{1,200}\Z", re.ASCII)  # written by JCS exactly as orjson writes it


class Hit(NamedTuple):
    """One record of the trail and where it is: chain file name, 1-based line, byte offset (decompressed for .gz).
    Immutable (a named tuple: made once per record of a scan, so it is cheap to make)."""

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


def open_chain_file(path: Path) -> TrailFile:
    """The chain file at ``path``, never through a link, regular files only (``NotRegularFile``), never blocking."""
    return open_trail_file(path)


_DECIMAL = re.compile(r"\A(?:0|[1-9][0-9]{0,18})\Z", re.ASCII)
_TIMES = ("start_time_unix_nano", "end_time_unix_nano", "time_unix_nano", "observed_time_unix_nano")
_TEXTS = ("trace_id", "span_id", "name", "event_name", "severity_text")
_OBJECTS = ("status", "attributes", "resource")


def parse_record(raw: bytes) -> dict | None:
    """The record on ``raw``, or ``None`` when it does not parse or is not a record the review can read: its
    envelope (§4) well-typed (every member a string of its pattern, ASCII digits, ``seq`` within int64, ``body`` an
    object) and the body members the review reads of the §5 types (``gxp`` an object of strings; ids, names and
    texts strings; times ASCII decimals within int64; ``status``, ``attributes``, ``resource`` objects; ``events`` a
    list of objects). ``gxp-otel verify`` judges the line; here it is counted as unreadable, never a crash."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return record if _envelope_readable(record) and _body_readable(record["body"]) else None


def _envelope_readable(record: object) -> bool:
    """``format._envelope_ok(record) and seq_in_range(record["seq"])`` for a value orjson parsed (whose strings
    are never a subclass of str): ``str.join`` raises TypeError exactly when a member is not a string."""
    if type(record) is not dict or record.keys() != ENVELOPE_MEMBERS or type(record["body"]) is not dict:
        return False
    try:
        members = "\x00".join((record["kind"], record["stream"], record["seq"], record["prev"], record["hash"],
                               record["time"]))
    except TypeError:
        return False
    return _ENVELOPE_RE.match(members) is not None and seq_in_range(record["seq"])


_ABSENT = object()
_NO_EVENTS: list = []  # read only


def _body_readable(body: dict) -> bool:
    get = body.get
    gxp = get("gxp", _ABSENT)
    if gxp is not _ABSENT:
        if type(gxp) is not dict:
            return False
        try:
            "".join(gxp.values())  # a TypeError unless every value is a str (orjson makes no subclasses)
        except TypeError:
            return False
    if (type(get("trace_id", "")) is not str or type(get("span_id", "")) is not str or type(get("name", "")) is not str
            or type(get("event_name", "")) is not str or type(get("severity_text", "")) is not str):  # _TEXTS
        return False
    for member in _TIMES:
        value = get(member, _ABSENT)
        if value is not _ABSENT and not _int64_decimal(value):
            return False
    for member in _OBJECTS:
        value = get(member, _ABSENT)
        if value is not _ABSENT and type(value) is not dict:
            return False
    events = get("events", _NO_EVENTS)
    if type(events) is not list:
        return False
    for event in events:
        if type(event) is not dict:
            return False
    return True


_MAX_DECIMAL = str(MAX_SEQ)  # int64's maximum, 19 digits


def _int64_decimal(value: object) -> bool:
    """An ASCII decimal string within int64 (``MAX_SEQ`` is int64's maximum). ``_DECIMAL`` allows at most 19
    digits without a leading zero, so at 19 digits the text order is the numeric order."""
    return type(value) is str and _DECIMAL.match(value) is not None and (len(value) < 19 or value <= _MAX_DECIMAL)


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
        handle = open_chain_file(file_path)
    except (NotRegularFile, OSError):
        stats.unparsed += 1
        return
    name = parsed.name
    with handle:
        for number, raw in enumerate(iter_lines(handle, parsed.compressed, start=offset, first_line=line + 1),
                                     start=line + 1):
            stats.lines += 1
            record = parse_record(raw) if type(raw) is bytes else None
            if record is None:
                stats.unparsed += 1
            else:
                yield Hit(name, number, offset, record)
            offset += len(raw) if type(raw) is bytes else raw.length
        stats.bytes += handle.size


def iter_needle(path: str | os.PathLike[str], needle: bytes | tuple[bytes, ...],
                stats: ScanStats | None = None) -> Iterator[Hit]:
    """The records whose line contains ``needle`` (or any of several), found block by block without parsing the
    other lines."""
    stats = stats if stats is not None else ScanStats()
    needles = (needle,) if isinstance(needle, bytes) else needle
    for file_path, parsed in chain_files(path):
        try:
            handle = open_chain_file(file_path)
        except (NotRegularFile, OSError):
            stats.unparsed += 1
            continue
        with handle:
            yield from _needle_in_file(handle, parsed, needles, stats)
            stats.bytes += handle.size


def _line_starts(chunk: bytes, needle: bytes) -> Iterator[int]:
    pos = chunk.find(needle)
    while pos != -1:
        start = chunk.rfind(b"\n", 0, pos) + 1
        yield start
        end = chunk.find(b"\n", pos)
        if end == -1:
            return
        pos = chunk.find(needle, end)


def _needle_in_file(handle: TrailFile, parsed: ChainFileName, needles: tuple[bytes, ...],
                    stats: ScanStats) -> Iterator[Hit]:
    """Search chunks of whole lines (bounded, §2.1); an unreadable line counts as one line, not parsed."""
    name = parsed.name
    base_offset, base_line = 0, 0
    for chunk in iter_line_blocks(handle, parsed.compressed):
        if type(chunk) is not bytes:
            stats.lines += 1
            stats.unparsed += 1
            base_line += 1
            base_offset += chunk.length
            continue
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
        torn = 0 if chunk.endswith(b"\n") else 1  # a last line without newline (torn) is still looked at
        stats.lines += newlines + torn
        base_line += newlines + torn
        base_offset += len(chunk)


def read_line_at(path: Path, parsed: ChainFileName, offsets: list[int]) -> Iterator[tuple[int, bytes]]:
    """The lines starting at ``offsets`` (ascending) of one chain file, each with its ``\\n``; ``b""`` where no
    whole, readable line starts (a ``.gz`` is decompressed once, up to the last offset)."""
    try:
        handle = open_chain_file(path)
    except (NotRegularFile, OSError):
        for offset in offsets:
            yield offset, b""
        return
    with handle:
        for offset, raw in lines_at(handle, parsed.compressed, offsets):
            yield offset, raw if type(raw) is bytes else b""


def needle_for(member: str, value: str) -> bytes | None:
    """The bytes ``"member":"value"`` as they appear in a canonical line, when that form is certain."""
    if not _PLAIN_VALUE.match(value):
        return None
    return b'"' + member.encode() + b'":"' + value.encode() + b'"'
