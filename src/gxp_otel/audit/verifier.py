"""``verify_trail``: independent verification of a trail directory (docs/audit-format.md §10, §13).

Separate from the writer: it imports only the format modules and trusts nothing it reads. Streams are read file by
file, line by line, in constant memory apart from the checkpoint statements held for one stream. Checkpoint keys
come from the writer trust anchors (``trusted_keys``) when given (anchored: every record must then be sealed by a
trusted checkpoint), else from the trail's own genesis/recovery records (self-keyed, and every report says so).
Held checkpoint copies (``checkpoint_files``) are the auditor's evidence and win over the trail's own file (§10.5).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gxp_otel.audit.alcoa import AlcoaAssessment
from gxp_otel.audit.chain_replay import LineHandlers, replay_file
from gxp_otel.audit.canonical import ZERO_HASH
from gxp_otel.audit.format import (
    CHECKPOINT_FILE_RE,
    RESERVED_KINDS,
    ChainFileName,
    chain_file_name,
    parse_chain_file_name,
)
from gxp_otel.audit.fast_lines import check_line_fast
from gxp_otel.audit.held import HeldCheckpoints, HeldLine
from gxp_otel.audit.parallel_verify import Prefetcher, worker_count
from gxp_otel.audit.reading import NotRegularFile, ReadProblem, TrailDirectory, TrailFile, iter_lines, second_copy_problem
from gxp_otel.audit.report import Problem, StreamSummary, TrailReport
from gxp_otel.audit.signing import UNSIGNED_KEY_ID, key_id_for
from gxp_otel.audit.stream_end import finish_stream, note_unsigned_streams
from gxp_otel.audit import stream_seals
from gxp_otel.part11.verification import Part11Verification

ProgressCallback = Callable[[int], None]


@dataclass
class _StreamState:
    summary: StreamSummary
    problems: list[Problem]
    trusted: dict[str, str]  # writer trust anchors: key_id -> public key hex (empty: self-keyed)
    part11: Part11Verification | None = None  # §12 checks (signatures, corrections, purge tombstones)
    held_lines: list[HeldLine] = field(default_factory=list)  # every held line naming this stream id, reading order
    external: frozenset[str] = frozenset()  # labels of the --checkpoints files
    expected: int = 0
    last_hash: str = ""
    resync: bool = True
    started: bool = False
    keys: dict[str, str] = field(default_factory=dict)  # the keys seen in the chain (§10.3)
    key_in_force: str = UNSIGNED_KEY_ID
    missing: list[tuple[int, int, str, int]] = field(default_factory=list)  # first, last, file, line
    held: dict[int, HeldLine] | None = None  # the reference line per seq, for this chain's identity
    last_line: tuple[str, int] = ("", 0)
    version: str | None = None  # the stream's format, from its genesis
    genesis: str | None = None  # the stream's identity: its genesis hash (§7)
    retention: str | None = None  # its genesis's retention_days
    genesis_seen: bool = False
    after_close: bool = False
    seals: int = 0  # trusted seals (anchored)
    unsealed: tuple[str, int, int] | None = None  # first record after the last trusted seal: file, line, seq
    unsealed_count: int = 0
    previous_time: str = ""
    backwards: list[int] = field(default_factory=list)

    @property
    def anchored(self) -> bool:
        return bool(self.trusted)

    def report(self, file: str, line: int | None, seq: int | None, kind: str, detail: str) -> None:
        self.problems.append(Problem(file, line, seq, kind, detail, self.summary.stream))

    def select_held(self) -> dict[int, HeldLine]:
        """The held lines of this chain's identity (v1 lines: by stream id alone); the first per seq is the reference."""
        if self.held is None:
            self.held = {}
            for held in self.held_lines:
                if held.genesis is None or self.genesis is None or held.genesis == self.genesis:
                    self.held.setdefault(held.seq, held)
        return self.held

    def matches(self, held: HeldLine) -> bool:
        return held.genesis is None or self.genesis is None or held.genesis == self.genesis


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
    purgers: Iterable[dict[str, str]] = (),
    workers: int | None = None,
) -> TrailReport:
    """Verify every stream under ``path`` (a trail directory, or one chain file to check only its stream).

    ``trusted_keys``: writer trust anchors, hex Ed25519 public keys (§1.1): checkpoints must be signed by one.
    ``checkpoint_files``: checkpoint files held elsewhere, the auditor's evidence (rollback, deleted streams).
    ``signers``: the signer registry (``KEY.signer.json`` entries), the only anchor for e-signatures (§12.1).
    ``purgers``: the purger registry (same entries), the only anchor for purge tombstones (§12.3).
    ``workers``: processes that check lines (:mod:`~gxp_otel.audit.parallel_verify`); 0 none, ``None`` one per
    core for a trail of :data:`~gxp_otel.audit.parallel_verify.PARALLEL_MIN_BYTES` or more. The report is the same.
    """
    root = Path(path)
    only_stream = None
    if root.is_file():
        parsed = parse_chain_file_name(root.name)
        only_stream = parsed.stream if parsed else None
        root = root.parent
    trusted = {key_id_for(bytes.fromhex(k)): k for k in trusted_keys}
    signers, purgers = list(signers), list(purgers)
    report = TrailReport(str(path), anchored=bool(trusted))
    if not root.is_dir():
        report.problems.append(Problem(str(path), None, None, "missing-file", "no such trail directory or file"))
        return report
    directory = TrailDirectory(root)
    held = HeldCheckpoints.read_external(list(checkpoint_files))
    chains: dict[str, list[ChainFileName]] = {stream: [] for stream in held.streams()}
    for name in directory.names():
        parsed = parse_chain_file_name(name)
        if parsed is not None:
            chains.setdefault(parsed.stream, []).append(parsed)
        elif (match := CHECKPOINT_FILE_RE.fullmatch(name)) is not None:
            chains.setdefault(match.group("stream"), [])
    assessment = AlcoaAssessment(max_delay_s, max_skew_s) if alcoa else None
    file_order: dict[str, int] = {label: (1 << 30) + 1 + i for i, label in enumerate(held.external)}
    part11 = Part11Verification(root, trusted, registry(signers), registry(purgers))
    streams = [(s, _dedupe(chains[s])) for s in sorted(chains) if only_stream is None or s == only_stream]
    alcoa_limits = (max_delay_s, max_skew_s) if alcoa else None
    prefetcher = _prefetcher(directory, streams, workers, alcoa_limits)
    for stream, files in streams:
        for position, parsed in enumerate(files):
            file_order[parsed.name] = position
        held.read_own(directory, stream)
        state = _StreamState(StreamSummary(stream), report.problems, trusted, part11, held.lines.get(stream, []),
                             frozenset(held.external))
        _verify_stream(directory, files, state, assessment, report, progress, prefetcher)
        if only_stream is not None:  # §10.1: the verdict is about this stream only
            state.summary.notes.append("only this stream was verified (a chain file was given, not the trail directory): other streams, and held lines naming them, were not checked")
        report.streams.append(state.summary)
    if prefetcher is not None:
        prefetcher.close()
    directory.close()
    if not trusted:
        note_unsigned_streams(report.streams)
    report.problems.extend(p for p in held.problems if only_stream is None or p.stream in (only_stream, ""))
    part11.finish(report)
    report.problems.sort(key=lambda p: p.sort_key(file_order))
    if assessment is not None:
        report.alcoa = assessment.result()
    return report


def registry(entries: list[dict[str, str]]) -> dict[str, tuple[str, str, str]]:
    """key_id -> (printed_name, user_id, public_key) of a signer or purger registry."""
    return {e["key_id"]: (e["printed_name"], e["user_id"], e["public_key"]) for e in entries}


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


def _prefetcher(directory: TrailDirectory, streams: list, workers: int | None, alcoa) -> Prefetcher | None:
    names = [(f.name, f.compressed, stream) for stream, files in streams for f in files]
    total = 0
    for name, _, _ in names:
        try:
            total += os.stat(name, dir_fd=directory.fd, follow_symlinks=False).st_size
        except OSError:
            pass
    count = worker_count(total, workers)
    return Prefetcher(directory.fd, names, count, alcoa) if count and names else None


def _verify_stream(directory, files, state, assessment, report, progress, prefetcher=None) -> None:
    summary = state.summary
    stream = summary.stream
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
        except OSError as exc:  # not a regular file, vanished, or not readable by this account (§2.1)
            detail = str(exc) if isinstance(exc, NotRegularFile) else f"cannot be read: {exc.strerror}"
            if isinstance(exc, FileNotFoundError):
                detail = "the chain file vanished while the trail was read"
            state.report(parsed.name, None, None, "missing-file", detail)
            state.resync = True
            continue
        summary.files.append(parsed.name)
        report.files += 1
        report.bytes += chain_file.size
        number = 0
        with chain_file:
            if not parsed.compressed and (why := second_copy_problem(directory, parsed.name, chain_file)):
                state.report(parsed.name, None, None, "copies-differ", why)  # §2: plain and .gz must be one content
            checked_lines = prefetcher.take(parsed.name, chain_file) if prefetcher is not None else None
            if checked_lines is not None:
                number = replay_file(checked_lines, chain_file, parsed, state, assessment, progress, _HANDLERS)
            else:
                for number, raw in enumerate(_lines(chain_file, parsed.compressed, progress), start=1):
                    if type(raw) is bytes:
                        _verify_line(raw, parsed, number, state, assessment)
                    else:
                        _unreadable_line(raw, parsed.name, state, assessment)
            if progress is not None and parsed.compressed and checked_lines is not None:
                progress(chain_file.size)
        state.last_line = (parsed.name, number)
    finish_stream(files, state, assessment, stream_seals.signature_problem)


def _unreadable_line(problem: ReadProblem, name: str, state: _StreamState, assessment) -> None:
    state.report(name, problem.line, None, problem.kind, problem.detail)
    state.resync = True
    if assessment is not None:
        assessment.unreadable(name, problem.line, None, problem.kind)


def _verify_line(raw: bytes, parsed: ChainFileName, number: int, state: _StreamState, assessment) -> None:
    if not raw.endswith(b"\n"):
        _torn_line(len(raw), parsed.name, number, state, assessment)
        return
    _verify_checked(check_line_fast(raw[:-1]), parsed, number, state, assessment)


def _torn_line(length: int, name: str, number: int, state: _StreamState, assessment) -> None:
    state.report(name, number, None, "torn-line", f"last line has no newline ({length} bytes)")
    state.resync = True
    if assessment is not None:
        assessment.unreadable(name, number, None, "torn-line")


def _verify_checked(checked, parsed: ChainFileName, number: int, state: _StreamState, assessment) -> None:
    name = parsed.name
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
        state.resync = True  # like every per-line failure (§10.2); Go did, Python did not (found by a hard link)
        return
    summary.records += 1
    problems_before = len(state.problems)
    if not state.started:
        state.started = True
        if not (seq == 0 and record["kind"] == "genesis" and parsed.index == 1 and number == 1
                and record["prev"] == ZERO_HASH):
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


_HANDLERS = LineHandlers(_verify_line, _verify_checked, _torn_line, _unreadable_line)


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
    if record["time"] < state.previous_time:
        state.backwards.append(seq)
    state.previous_time = record["time"]
    if state.after_close and kind not in ("recovery", "rotation", "checkpoint"):
        state.report(name, number, seq, "after-close", "a record after the close checkpoint without a recovery record")
    state.after_close = state.after_close and kind in ("rotation", "checkpoint")
    genesis = kind == "genesis" and stream_seals.genesis(record, seq, name, number, state, original)
    held = state.select_held().get(seq)
    if held is not None and held.head != record["hash"]:
        state.report(name, number, seq, "rewritten", f"{held.source} line {held.line} sealed a different record")
    sealed = False
    if genesis or kind == "recovery":
        stream_seals.take_key(kind, body, seq, name, number, state)
        summary.sessions += 1
    elif kind == "checkpoint":
        sealed = stream_seals.check_checkpoint(record, seq, name, number, state, assessment) and state.anchored
        statement = body.get("statement")
        reason = statement.get("reason") if type(statement) is dict else None
        if state.after_close and reason != "rotation":
            state.report(name, number, seq, "after-close", "a checkpoint after the close checkpoint without a recovery")
        state.after_close = reason == "close" or (state.after_close and reason == "rotation")
    elif kind in RESERVED_KINDS:
        state.part11.observe(record, seq, name, number, state)
    elif kind == "log":
        state.part11.observe_decision(record, seq, name, number, state)  # an e-signed decision (§12.4)?
    elif kind == "gap":
        signal = str(body.get("signal"))
        count = body.get("count")
        counted = isinstance(count, str) and count.isascii() and count.isdigit()  # not int('²')
        summary.lost[signal] = summary.lost.get(signal, 0) + (int(count) if counted else 0)
    if sealed:
        state.seals, state.unsealed, state.unsealed_count = state.seals + 1, None, 0
    else:
        state.unsealed = state.unsealed or (name, number, seq)
        state.unsealed_count += 1
    if assessment is not None:
        assessment.observe(record, name, number, state.summary.stream, original)

