"""``verify_trail``: independent verification of a trail directory (docs/audit-format.md §10).

Separate from the writer: it imports only the format modules and trusts nothing it reads. Streams are read file by
file, line by line, in constant memory apart from the checkpoint statements held for one stream. Keys come from
``trusted_keys`` when given, else from the trail's own genesis/recovery records (and the report says so).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from gxp_otel.audit.alcoa import AlcoaAssessment
from gxp_otel.audit.canonical import canonical_json
from gxp_otel.audit.format import (
    CHECKPOINT_FILE_RE,
    RESERVED_KINDS,
    SEQ_RE,
    ChainFileName,
    chain_file_name,
    check_line,
    checkpoint_file_name,
    parse_chain_file_name,
)
from gxp_otel.audit.reading import NotRegularFile, ReadProblem, TrailDirectory, TrailFile, iter_lines, open_regular_file
from gxp_otel.audit.report import Problem, StreamSummary, TrailReport
from gxp_otel.audit.signing import UNSIGNED_KEY_ID, key_id_for, verify_statement
from gxp_otel.part11.verification import Part11Verification

STATEMENT_MEMBERS = frozenset({"format", "stream", "seq", "head", "file", "time", "reason"})
ProgressCallback = Callable[[int], None]


@dataclass
class _Held:
    """A checkpoint statement held outside the chain: the first line naming this seq, and every such line."""

    head: str
    source: str
    line: int
    lines: list[tuple[int, str, dict]] = field(default_factory=list)


@dataclass
class _StreamState:
    summary: StreamSummary
    problems: list[Problem]
    trusted: dict[str, str]  # key_id -> public key hex
    part11: Part11Verification | None = None  # §12 checks (signatures, corrections, purge tombstones)
    expected: int = 0
    last_hash: str = ""
    resync: bool = True
    started: bool = False
    keys: dict[str, str] = field(default_factory=dict)
    key_in_force: str = UNSIGNED_KEY_ID
    missing: list[tuple[int, int, str, int]] = field(default_factory=list)  # first, last, file, line
    held: dict[int, _Held] = field(default_factory=dict)
    last_line: tuple[str, int] = ("", 0)

    def report(self, file: str, line: int | None, seq: int | None, kind: str, detail: str) -> None:
        self.problems.append(Problem(file, line, seq, kind, detail, self.summary.stream))


def verify_trail(
    path: str | os.PathLike[str],
    *,
    trusted_keys: Iterable[str] = (),
    checkpoint_files: Iterable[str | os.PathLike[str]] = (),
    alcoa: bool = False,
    max_delay_s: float = 300.0,
    max_skew_s: float = 5.0,
    progress: ProgressCallback | None = None,
    signers: Iterable[dict[str, str]] = (),
) -> TrailReport:
    """Verify every stream under ``path`` (a trail directory, or one chain file to check only its stream).

    ``trusted_keys``: hex Ed25519 public keys; checkpoints signed otherwise are ``untrusted-key``.
    ``checkpoint_files``: checkpoint files held elsewhere (detects rollback of the whole directory).
    ``signers``: the signer registry (``KEY.signer.json`` entries): e-signatures and purges must be by these keys,
    under these identities (§12).
    """
    root = Path(path)
    only_stream = None
    if root.is_file():
        parsed = parse_chain_file_name(root.name)
        only_stream = parsed.stream if parsed else None
        root = root.parent
    report = TrailReport(str(path))
    if not root.is_dir():
        report.problems.append(Problem(str(path), None, None, "missing-file", "no such trail directory or file"))
        return report
    trusted = {key_id_for(bytes.fromhex(k)): k for k in trusted_keys}
    directory = TrailDirectory(root)
    chains: dict[str, list[ChainFileName]] = {}
    for name in directory.names():
        parsed = parse_chain_file_name(name)
        if parsed is not None:
            chains.setdefault(parsed.stream, []).append(parsed)
        elif (match := CHECKPOINT_FILE_RE.fullmatch(name)) is not None:
            chains.setdefault(match.group("stream"), [])
    extra_held = [Path(p) for p in checkpoint_files]
    assessment = AlcoaAssessment(max_delay_s, max_skew_s) if alcoa else None
    file_order: dict[str, int] = {}
    part11 = Part11Verification(root, trusted, {s["key_id"]: (s["printed_name"], s["user_id"]) for s in signers})
    for stream in sorted(chains):
        if only_stream is not None and stream != only_stream:
            continue
        files = _dedupe(chains[stream])
        for position, parsed in enumerate(files):
            file_order[parsed.name] = position
        state = _StreamState(StreamSummary(stream), report.problems, trusted, part11)
        _verify_stream(directory, files, state, extra_held, assessment, report, progress)
        report.streams.append(state.summary)
    directory.close()
    part11.finish(report)
    report.problems.sort(key=lambda p: p.sort_key(file_order))
    if assessment is not None:
        report.alcoa = assessment.result()
    return report


def _dedupe(files: list[ChainFileName]) -> list[ChainFileName]:
    """One entry per index; when both plain and ``.gz`` exist (crash during compression) the plain file wins."""
    by_index: dict[int, ChainFileName] = {}
    for parsed in sorted(files, key=lambda f: (f.index, not f.compressed)):
        by_index[parsed.index] = parsed
    return [by_index[i] for i in sorted(by_index)]


def _lines(file: TrailFile, compressed: bool, progress: ProgressCallback | None) -> Iterator[bytes | ReadProblem]:
    """The file's lines through the bounded reader (§2.1): problems (overlong line, unreadable .gz) in place."""
    for line in iter_lines(file, compressed):
        if progress is not None and not compressed:
            progress(len(line) if type(line) is bytes else line.length)
        yield line
    if progress is not None and compressed:
        progress(file.size)


def _open_held(directory: TrailDirectory, source: Path | str, state: _StreamState) -> TrailFile | None:
    """The stream's own checkpoint file (a name in the trail: no link followed) or a held copy the user named;
    ``None`` when absent; not a regular file is ``bad-checkpoint-file``."""
    try:
        return directory.open(source) if isinstance(source, str) else open_regular_file(source)
    except FileNotFoundError:
        return None
    except (NotRegularFile, OSError) as exc:
        name = source if isinstance(source, str) else source.name
        state.report(name, None, None, "bad-checkpoint-file", str(exc))
        return None


def _verify_stream(directory, files, state, extra_held, assessment, report, progress) -> None:
    summary = state.summary
    stream = summary.stream
    for source in [checkpoint_file_name(stream), *extra_held]:
        held_file = _open_held(directory, source, state)
        if held_file is not None:
            with held_file:
                _load_held(held_file, state)
    if not files and not state.part11.covers_missing_file(state, chain_file_name(stream, 1)):
        state.report(chain_file_name(stream, 1), None, None, "missing-file", "checkpoints exist but no chain file")
    expected_index = 1
    for parsed in files:
        for missing in range(expected_index, parsed.index):
            if state.part11.covers_missing_file(state, chain_file_name(stream, missing)):
                continue
            state.report(chain_file_name(stream, missing), None, None, "missing-file", "chain file number is absent")
            state.resync = True
        expected_index = parsed.index + 1
        try:
            chain_file = directory.open(parsed.name)
        except (NotRegularFile, FileNotFoundError) as exc:
            state.report(parsed.name, None, None, "missing-file", str(exc) if isinstance(exc, NotRegularFile)
                         else "the chain file vanished while the trail was read")
            state.resync = True
            continue
        summary.files.append(parsed.name)
        report.files += 1
        report.bytes += chain_file.size
        number = 0
        with chain_file:
            for number, raw in enumerate(_lines(chain_file, parsed.compressed, progress), start=1):
                if type(raw) is bytes:
                    _verify_line(raw, parsed, number, state, assessment)
                else:
                    _unreadable_line(raw, parsed.name, state, assessment)
        state.last_line = (parsed.name, number)
    _finish_stream(files, state, assessment)


def _unreadable_line(problem: ReadProblem, name: str, state: _StreamState, assessment) -> None:
    state.report(name, problem.line, None, problem.kind, problem.detail)
    state.resync = True
    if assessment is not None:
        assessment.unreadable(name, problem.line, None, problem.kind)


def _verify_line(raw: bytes, parsed: ChainFileName, number: int, state: _StreamState, assessment) -> None:
    name = parsed.name
    if not raw.endswith(b"\n"):
        state.report(name, number, None, "torn-line", f"last line has no newline ({len(raw)} bytes)")
        state.resync = True
        if assessment is not None:
            assessment.unreadable(name, number, None, "torn-line")
        return
    checked = check_line(raw[:-1])
    record = checked.record
    seq = int(record["seq"]) if record is not None else None
    if checked.problem is not None:
        state.report(name, number, seq, checked.problem, checked.detail)
        state.resync = True
        if assessment is not None:
            assessment.unreadable(name, number, seq, checked.problem)
        return
    summary = state.summary
    if record["stream"] != summary.stream:
        state.report(name, number, seq, "malformed", f"record of stream {record['stream']!r} in this stream's file")
        return
    summary.records += 1
    problems_before = len(state.problems)
    if not state.started:
        state.started = True
        if not (seq == 0 and record["kind"] == "genesis" and parsed.index == 1 and number == 1):
            state.report(name, number, seq, "bad-genesis", "the first record is not a genesis record with seq 0")
        state.resync = True
    if state.resync:
        state.resync = False
    elif seq == state.expected:
        if record["prev"] != state.last_hash:
            state.report(name, number, seq, "inserted", "prev does not match the hash of the record before")
    elif seq > state.expected:
        state.missing.append((state.expected, seq - 1, name, number))
    else:
        _out_of_order(state, name, number, seq)
        return
    state.expected, state.last_hash = seq + 1, record["hash"]
    _observe(record, seq, name, number, state, assessment, len(state.problems) == problems_before)


def _out_of_order(state: _StreamState, name: str, number: int, seq: int) -> None:
    for position, (first, last, file, line) in enumerate(state.missing):
        if first <= seq <= last:
            state.report(name, number, seq, "reordered", f"seq {seq} appears after seq {state.expected - 1}")
            pieces = [(first, seq - 1, file, line), (seq + 1, last, file, line)]
            state.missing[position : position + 1] = [p for p in pieces if p[0] <= p[1]]
            return
    state.report(name, number, seq, "duplicate", f"seq {seq} was already seen (expected {state.expected})")


def _observe(record: dict, seq: int, name: str, number: int, state: _StreamState, assessment, original: bool) -> None:
    summary = state.summary
    kind = record["kind"]
    body = record["body"]
    summary.counts[kind] = summary.counts.get(kind, 0) + 1
    if summary.first_seq is None:
        summary.first_seq, summary.first_time = seq, record["time"]
    summary.last_seq, summary.head, summary.last_time = seq, record["hash"], record["time"]
    summary.closed = False
    held = state.held.get(seq)
    if held is not None:
        if held.head != record["hash"]:
            state.report(name, number, seq, "rewritten", f"{held.source} line {held.line} sealed a different record")
    if kind in ("genesis", "recovery"):
        _take_key(body, seq, name, number, state)
        summary.sessions += 1
    elif kind == "checkpoint":
        _check_checkpoint(record, seq, name, number, state, assessment)
    elif kind in RESERVED_KINDS:
        state.part11.observe(record, seq, name, number, state)
    elif kind == "gap":
        signal = str(body.get("signal"))
        count = body.get("count")
        summary.lost[signal] = summary.lost.get(signal, 0) + (int(count) if str(count).isdigit() else 0)
    if assessment is not None:
        assessment.observe(record, name, number, state.summary.stream, original)


def _take_key(body: dict, seq: int, name: str, number: int, state: _StreamState) -> None:
    key_id, public = body.get("key_id"), body.get("public_key")
    if not isinstance(key_id, str) or not isinstance(public, str):
        state.report(name, number, seq, "malformed", "genesis/recovery record without key_id and public_key")
        return
    if key_id != UNSIGNED_KEY_ID:
        try:
            valid = key_id_for(bytes.fromhex(public)) == key_id
        except ValueError:
            valid = False
        if not valid:
            state.report(name, number, seq, "malformed", "public_key does not match key_id")
            return
        state.keys[key_id] = public
    summary = state.summary
    if state.key_in_force != key_id and summary.sessions > 0:
        summary.notes.append(f"checkpoint key changed to {key_id} at seq {seq}")
    state.key_in_force = key_id
    if key_id not in summary.key_ids:
        summary.key_ids.append(key_id)


def _signature_problem(state: _StreamState, key_id: str, statement: dict, signature: str) -> tuple[str, str] | None:
    if state.trusted and key_id not in state.trusted:
        return "untrusted-key", f"signed by {key_id}, which is not a trusted key"
    if key_id == UNSIGNED_KEY_ID:
        return None
    public = state.trusted.get(key_id) or state.keys.get(key_id)
    if public is None:
        return "bad-signature", f"signed by unknown key {key_id}"
    if not verify_statement(public, statement, signature):
        return "bad-signature", f"signature does not verify under {key_id}"
    return None


def _check_checkpoint(record: dict, seq: int, name: str, number: int, state: _StreamState, assessment) -> None:
    body = record["body"]
    statement = body.get("statement")
    key_id, signature = body.get("key_id"), body.get("signature")
    if not (isinstance(statement, dict) and set(statement) == STATEMENT_MEMBERS and isinstance(key_id, str)
            and isinstance(signature, str)):
        state.report(name, number, seq, "malformed", "checkpoint body does not have the §7 shape")
        return
    plain = name[:-3] if name.endswith(".gz") else name
    expected = {"stream": state.summary.stream, "seq": str(seq - 1), "head": record["prev"], "file": plain}
    wrong = [k for k, v in expected.items() if statement.get(k) != v]
    if wrong:
        state.report(name, number, seq, "checkpoint-mismatch", f"statement {', '.join(wrong)} do not match the chain")
    if key_id != state.key_in_force:
        state.report(name, number, seq, "bad-signature", f"signed by {key_id}, the key in force is {state.key_in_force}")
        return
    problem = _signature_problem(state, key_id, statement, signature)
    if problem is not None:
        state.report(name, number, seq, *problem)
        return
    summary = state.summary
    summary.checkpoints += 1
    summary.last_checkpoint = {"seq": seq - 1, "time": statement.get("time"), "key_id": key_id, "file": plain}
    if key_id != UNSIGNED_KEY_ID:
        summary.signed_checkpoints += 1
        if assessment is not None:
            assessment.sealed(summary.stream)
    summary.closed = statement.get("reason") == "close"


def _load_held(source: TrailFile, state: _StreamState) -> None:
    """Read a checkpoint file; signatures are checked at the end of the stream, once the keys are known."""
    for number, raw in enumerate(iter_lines(source, False), start=1):
        if type(raw) is not bytes:
            state.report(source.name, number, None, "bad-checkpoint-file", raw.detail)
            continue
        try:
            body = orjson.loads(raw)
            statement = body["statement"]
            assert set(statement) == STATEMENT_MEMBERS and raw.endswith(b"\n")
            assert canonical_json(body) + b"\n" == raw
            assert type(body.get("key_id")) is str and type(body.get("signature")) is str
            assert all(type(value) is str for value in statement.values()) and SEQ_RE.fullmatch(statement["seq"])
            seq = int(statement["seq"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AssertionError):
            state.report(source.name, number, None, "bad-checkpoint-file", "not a canonical checkpoint line")
            continue
        if statement["stream"] != state.summary.stream:
            if source.name == checkpoint_file_name(state.summary.stream):
                state.report(source.name, number, seq, "bad-checkpoint-file", "names another stream")
            continue
        held = state.held.setdefault(seq, _Held(statement["head"], source.name, number))
        held.lines.append((number, source.name, body))


def _finish_stream(files: list[ChainFileName], state: _StreamState, assessment) -> None:
    summary = state.summary
    for first, last, file, line in state.missing:
        count = last - first + 1
        state.report(file, line, first, "deleted", f"{count} record(s) missing: seq {first}..{last}")
    beyond = [seq for seq in state.held if summary.last_seq is None or seq > summary.last_seq]
    if beyond:
        top = max(beyond)
        held = state.held[top]
        file, line = state.last_line
        state.report(
            file or held.source, line or None, top, "truncated",
            f"{held.source} line {held.line} seals seq {top}; the chain ends at seq {summary.last_seq}",
        )
    for seq, held in state.held.items():
        for number, source, body in held.lines:
            problem = _signature_problem(state, body.get("key_id", ""), body["statement"], body.get("signature", ""))
            if problem is not None:
                state.report(source, number, seq, "bad-checkpoint-file", problem[1])
    summary.key_source = "checked against the trusted keys given" if state.trusted else "taken from the trail itself (no --trusted-key)"
    if summary.checkpoints and not summary.signed_checkpoints:
        summary.notes.append("checkpoints are unsigned: they detect accidents, not deliberate edits")
    if files and not summary.closed:
        summary.notes.append("the stream is open: its writer is running, or stopped without closing")
    if summary.lost:
        lost = ", ".join(f"{n} {s}" for s, n in sorted(summary.lost.items()))
        summary.notes.append(f"the writer recorded losses before the trail: {lost}")
    if assessment is not None:
        assessment.finish_stream(summary.stream)
    _check_rotation_tail(files, state)


def _check_rotation_tail(files: list[ChainFileName], state: _StreamState) -> None:
    """Every file but the newest ends with a rotation; one more rotation means the newest file was deleted."""
    if not files or state.summary.counts.get("rotation", 0) < len(files):
        return
    next_name = chain_file_name(state.summary.stream, files[-1].index + 1)
    if not any(problem.file == next_name for problem in state.problems):
        state.report(next_name, None, None, "missing-file", "the last file ends with a rotation to this file")
