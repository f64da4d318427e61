"""Finding records in a trail directory by reference (stream, seq) or by trace id, trusting only what verifies.

Read-only and writer-free, so the verifier may use it. A record is returned only when its line passes the per-line
checks of docs/audit-format.md §10 (parsed, canonical, hash recomputed); a damaged line is never "found".
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from gxp_otel.audit.format import ChainFileName, check_line, parse_chain_file_name
from gxp_otel.audit.reading import iter_lines as bounded_lines
from gxp_otel.audit.reading import open_trail_file

_SEQ_MARK = b',"seq":"'


def chain_files(root: Path, stream: str) -> list[ChainFileName]:
    """The stream's chain files in number order, one per number (the plain file wins over its ``.gz``)."""
    by_index: dict[int, ChainFileName] = {}
    for parsed in sorted(filter(None, map(parse_chain_file_name, os.listdir(root))),
                         key=lambda f: (f.index, not f.compressed)):
        if parsed.stream == stream:
            by_index[parsed.index] = parsed
    return [by_index[i] for i in sorted(by_index)]


def iter_lines(root: Path, parsed: ChainFileName) -> Iterator[tuple[int, bytes]]:
    """``(number, line)`` of one chain file through the bounded reader (docs/audit-format.md §2.1): a link, FIFO or
    device yields nothing, an overlong line is skipped, a damaged ``.gz`` ends the file (the verifier reports them)."""
    try:
        handle = open_trail_file(root / parsed.name)
    except OSError:
        return
    with handle:
        for number, raw in enumerate(bounded_lines(handle, parsed.compressed), start=1):
            if type(raw) is bytes:
                yield number, raw
            elif raw.kind == "torn-line":
                return


def _envelope_seq(raw: bytes) -> int | None:
    """The envelope seq of a line without parsing it: JCS puts the envelope's ``seq`` after the body and hash."""
    at = raw.rfind(_SEQ_MARK)
    if at < 0:
        return None
    end = raw.find(b'"', at + len(_SEQ_MARK))
    digits = raw[at + len(_SEQ_MARK):end]
    return int(digits) if digits.isdigit() else None


def records_at(root: Path, wanted: Iterable[tuple[str, int]]) -> dict[tuple[str, int], list[tuple[dict, str, int]]]:
    """``{(stream, seq): [(record, file, line), ...]}``: every intact record at each wanted position (a tampered
    trail may hold two records with one seq; the caller decides which one a reference means, by its hash)."""
    by_stream: dict[str, set[int]] = {}
    for stream, seq in wanted:
        by_stream.setdefault(stream, set()).add(seq)
    found: dict[tuple[str, int], list[tuple[dict, str, int]]] = {}
    for stream, seqs in by_stream.items():
        top = max(seqs)
        for parsed in chain_files(root, stream):
            beyond = False
            for number, raw in iter_lines(root, parsed):
                seq = _envelope_seq(raw)
                if seq is None or seq not in seqs or not raw.endswith(b"\n"):
                    beyond = beyond or (seq is not None and seq > top)
                    continue
                checked = check_line(raw[:-1])
                if checked.problem is None and checked.record["stream"] == stream:
                    found.setdefault((stream, seq), []).append((checked.record, parsed.name, number))
            if beyond:
                break  # seqs only grow from file to file
    return found


def record_with_hash(root: Path, stream: str, seq: int, record_hash: str) -> tuple[dict | None, bool]:
    """``(record, present)``: the intact record at (stream, seq) with that hash, and whether any record is there."""
    candidates = records_at(root, [(stream, seq)]).get((stream, seq), [])
    match = next((c[0] for c in candidates if c[0]["hash"] == record_hash), None)
    return match, bool(candidates)


def iter_records(root: Path, streams: Iterable[str] | None = None) -> Iterator[tuple[dict, str, int]]:
    """Every intact record of the directory (or of ``streams``), stream by stream, in file and line order."""
    names = sorted({p.stream for p in filter(None, map(parse_chain_file_name, os.listdir(root)))})
    for stream in names if streams is None else [s for s in names if s in set(streams)]:
        for parsed in chain_files(root, stream):
            for number, raw in iter_lines(root, parsed):
                if raw.endswith(b"\n"):
                    checked = check_line(raw[:-1])
                    if checked.problem is None:
                        yield checked.record, parsed.name, number


def trace_root_record(root: Path, trace_id: str) -> dict | None:
    """The record a trace is signed through: its root span (no parent), else the trace's last span record."""
    last = None
    for record, _file, _line in iter_records(root):
        body = record["body"]
        if record["kind"] == "span" and body.get("trace_id") == trace_id:
            if body.get("parent_span_id") == "":
                return record
            last = record
    return last


def signing_candidates(root: Path, *, trace_id: str | None = None, run_id: str | None = None) \
        -> list[tuple[dict, str, int]]:
    """The records a trace (or a workflow run, ``gxp.run_id``) could be signed through: every root span, and for a
    stream holding none of its roots its last span record; ``[(record, file, line)]`` in stream order. Intact lines
    only; whether each stream verifies is the caller's question (``gxp-otel sign`` signs within verified chains)."""
    roots: list[tuple[dict, str, int]] = []
    last: dict[str, tuple[dict, str, int]] = {}
    for record, file, line in iter_records(root):
        body = record["body"]
        if record["kind"] != "span":
            continue
        if trace_id is not None and body.get("trace_id") != trace_id:
            continue
        if run_id is not None and (body.get("gxp") or {}).get("run_id") != run_id:
            continue
        if body.get("parent_span_id") == "":
            roots.append((record, file, line))
        else:
            last[record["stream"]] = (record, file, line)
    with_roots = {r[0]["stream"] for r in roots}
    return roots + [hit for stream, hit in sorted(last.items()) if stream not in with_roots]


def describe(record: dict) -> str:
    """A short human description of a record for signature manifestations."""
    body = record["body"]
    kind = record["kind"]
    if kind == "span":
        return f"span {body.get('name', '')!r} (trace {body.get('trace_id', '')})"
    if kind == "log":
        name = body.get("event_name") or ""
        return f"log {name!r}" + (f" (trace {body['trace_id']})" if body.get("trace_id") else "")
    return f"{kind} record"
