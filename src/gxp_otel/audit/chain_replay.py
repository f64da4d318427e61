"""Applying a worker's checked lines of one chain file to the verifier's stream state, in file order (issue 16).

Every item but a :class:`~gxp_otel.audit.parallel_verify.Run` goes to the verifier's own per-line functions, exactly
as if the verifier had read the line. A run of linked span/log records is applied at once when the state is the one
in which each of its records would only extend the chain (started, not resynchronising, expecting its first seq
after its prev, not after a close): then the sequential verifier would report nothing for its records but a held
copy that sealed a different one (``rewritten``), and would only count them, move the head and note backward times,
which is what :func:`_apply_run` does; with ALCOA+, the run's assessment (made by the worker from the bodies) is
merged in (``AlcoaAssessment.merge_run``, which adds Consistent from the run's times). In any other state its records
are replayed one by one through the verifier's functions: with empty bodies (a run holds only records whose bodies
those functions do not read), or, with ALCOA+, which reads the bodies, by reading its lines again. Not thread-safe;
pure apart from the state it is given.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Callable

from gxp_otel.audit.format import LineCheck
from gxp_otel.audit.parallel_verify import FileLines, Run
from gxp_otel.audit.reading import ReadProblem, TrailFile, iter_lines

_KIND = {"s": "span", "l": "log"}


class LineHandlers:
    """The verifier's per-line functions: ``line(raw, parsed, number, state, assessment)`` (a line as read),
    ``checked(check, parsed, number, state, assessment)``, ``torn(length, name, number, state, assessment)`` and
    ``unreadable(problem, name, state, assessment)``."""

    def __init__(self, line: Callable, checked: Callable, torn: Callable, unreadable: Callable) -> None:
        self.line, self.checked, self.torn, self.unreadable = line, checked, torn, unreadable


def replay_file(lines: FileLines, file: TrailFile, parsed, state, assessment, progress,
                handlers: LineHandlers) -> int:
    """Apply ``lines`` (the worker's result for ``parsed``, opened by the caller as ``file``) to ``state``;
    returns the file's last line number."""
    name = parsed.name
    held_seqs: list = [None, []]  # the held lines' dict and its sorted seqs, computed once per file
    for item in lines.items:
        if type(item) is Run:
            if _extends_chain(state, item):
                _apply_run(item, name, state, held_seqs)
                if assessment is not None:
                    assessment.merge_run(item.alcoa, state.summary.stream, name, item.line, item.seq, item.times,
                                         item.backwards)
            elif assessment is None:
                _replay_run(item, parsed, state, handlers)
            else:  # ALCOA+ reads the bodies, which a run does not hold: read its lines again
                _reread_run(item, file, parsed, state, assessment, handlers)
            if progress is not None and not parsed.compressed:
                progress(item.length)
        elif type(item) is ReadProblem:
            handlers.unreadable(item, name, state, assessment)
            if progress is not None and not parsed.compressed:
                progress(item.length)
        elif item[0] == "torn":
            handlers.torn(item[2], name, item[1], state, assessment)
            if progress is not None and not parsed.compressed:
                progress(item[2])
        else:
            handlers.checked(item[2], parsed, item[1], state, assessment)
            if progress is not None and not parsed.compressed:
                progress(item[3])
    return lines.lines


def _extends_chain(state, run: Run) -> bool:
    return state.started and not state.resync and not state.after_close and state.expected == run.seq \
        and state.last_hash == run.prev


def _apply_run(run: Run, name: str, state, held_seqs: list) -> None:
    summary = state.summary
    count, first, last = run.count, run.seq, run.seq + run.count - 1
    summary.records += count
    spans = run.kinds.count("s")
    for kind, n in ((("span", spans), ("log", count - spans)) if run.kinds[0] == "s"
                    else (("log", count - spans), ("span", spans))):
        if n:
            summary.counts[kind] = summary.counts.get(kind, 0) + n
    first_time, head, last_time = run.times[:30], run.hashes[-64:], run.times[-30:]
    if summary.first_seq is None:
        summary.first_seq, summary.first_time = first, first_time
    summary.last_seq, summary.head, summary.last_time = last, head, last_time
    summary.closed = False
    if first_time < state.previous_time:
        state.backwards.append(first)
    state.backwards.extend(first + i for i in run.backwards)
    state.previous_time = last_time
    held = state.select_held()
    if held:
        if held_seqs[0] is not held or len(held_seqs[1]) != len(held):
            held_seqs[:] = [held, sorted(held)]
        seqs = held_seqs[1]
        for seq in seqs[bisect_left(seqs, first):bisect_left(seqs, last + 1)]:
            i = seq - first
            if held[seq].head != run.hashes[64 * i:64 * i + 64]:
                state.report(name, run.line + i, seq, "rewritten",
                             f"{held[seq].source} line {held[seq].line} sealed a different record")
    state.unsealed = state.unsealed or (name, run.line, first)
    state.unsealed_count += count
    state.expected, state.last_hash = last + 1, head


def _replay_run(run: Run, parsed, state, handlers: LineHandlers) -> None:
    stream, prev = parsed.stream, run.prev
    for i in range(run.count):
        digest = run.hashes[64 * i:64 * i + 64]
        record = {"body": {}, "hash": digest, "kind": _KIND[run.kinds[i]], "prev": prev, "seq": str(run.seq + i),
                  "stream": stream, "time": run.times[30 * i:30 * i + 30]}
        handlers.checked(LineCheck(record), parsed, run.line + i, state, None)
        prev = digest


def _reread_run(run: Run, file: TrailFile, parsed, state, assessment, handlers: LineHandlers) -> None:
    """The run's lines read again by this process from its own descriptor, each through the verifier's line check."""
    if not parsed.compressed:
        os.lseek(file.fd, 0, os.SEEK_SET)
    lines = iter_lines(file, parsed.compressed, start=run.offset, first_line=run.line)
    for number, raw in zip(range(run.line, run.line + run.count), lines):
        if type(raw) is bytes:
            handlers.line(raw, parsed, number, state, assessment)
        else:
            handlers.unreadable(raw, parsed.name, state, assessment)
