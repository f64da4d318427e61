"""What the verifier decides once a stream's chain is read (docs/audit-format.md §10.3, §10.5-§10.7).

Deleted ranges, the held checkpoints (conflicts, truncation, their signatures, identities that have no chain:
``missing-stream``), sealing (``unknown-stream``, ``unsealed-tail``, anchored only), the rotation tail and the
stream's notes. Pure functions of the stream state the verifier built; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable

from gxp_otel.audit.format import chain_file_name, checkpoint_file_name
from gxp_otel.audit.held import HeldLine

SELF_KEYED = "taken from the trail itself (no --trusted-key): a re-keyed rewrite or a forged stream is not detected"


def finish_stream(files: list, state, assessment, signature_problem: Callable) -> None:
    summary = state.summary
    for first, last, file, line in state.missing:
        count = last - first + 1
        state.report(file, line, first, "deleted", f"{count} record(s) missing: seq {first}..{last}")
    _finish_held(files, state, signature_problem)
    _finish_sealing(files, state)
    summary.key_source = "checked against the trusted writer keys given" if state.anchored else SELF_KEYED
    if summary.checkpoints and not summary.signed_checkpoints:
        summary.notes.append("checkpoints are unsigned: they detect accidents, not deliberate edits")
    if files and not summary.closed:
        summary.notes.append("the stream is open: its writer is running, or stopped without closing")
    if summary.lost:
        lost = ", ".join(f"{n} {s}" for s, n in sorted(summary.lost.items()))
        summary.notes.append(f"the writer recorded losses before the trail: {lost}")
    if state.backwards:
        summary.notes.append(f"recorded time goes backwards {len(state.backwards)} time(s), first at seq "
                             f"{state.backwards[0]} (a clock step; ALCOA+ Consistent)")
    if state.external and files and not any(h.source in state.external for h in state.held_lines):
        summary.notes.append("not in the held checkpoint files given (--checkpoints): newer than the copy?")
    if assessment is not None:
        assessment.finish_stream(summary.stream)
    _check_rotation_tail(files, state)


def _finish_held(files: list, state, signature_problem: Callable) -> None:
    summary = state.summary
    present = bool(summary.files) or state.started  # a chain read, or continued from a tombstone
    reference = state.select_held() if present else {}
    mine = [h for h in state.held_lines if present and state.matches(h)]
    for held in mine:
        first = reference[held.seq]
        if held is not first and held.head != first.head:
            state.report(held.source, held.line, held.seq, "held-conflict",
                         f"seals another head than {first.source} line {first.line}")
    beyond = [seq for seq in reference if summary.last_seq is None or seq > summary.last_seq]
    if beyond:
        top = max(beyond)
        held = reference[top]
        file, line = state.last_line
        state.report(file or held.source, line or None, top, "truncated",
                     f"{held.source} line {held.line} seals seq {top}; the chain ends at seq {summary.last_seq}")
    for held in mine:
        body = held.body
        problem = signature_problem(state, body["key_id"], body["statement"], body["signature"])
        if problem is not None:
            state.report(held.source, held.line, held.seq, "bad-checkpoint-file", problem[1])
    others: dict[str | None, HeldLine] = {}
    for held in state.held_lines:
        if not (present and state.matches(held)):
            others.setdefault(held.genesis, held)
    for held in others.values():
        who = f" with genesis {held.genesis[:16]}…" if held.genesis else ""
        state.report(held.source, held.line, None, "missing-stream",
                     f"held checkpoints name stream {summary.stream}{who}, which has no chain file here")
    if not present and not state.held_lines:
        state.report(checkpoint_file_name(summary.stream), None, None, "missing-stream",
                     "a checkpoint file exists but no chain file")


def _finish_sealing(files: list, state) -> None:
    if not state.anchored or not state.summary.records:
        return
    if state.seals == 0:
        state.report(files[0].name if files else chain_file_name(state.summary.stream, 1), None, None,
                     "unknown-stream", "no checkpoint of this stream is signed by a trusted writer key")
    elif state.unsealed is not None:
        file, line, seq = state.unsealed
        state.report(file, line, seq, "unsealed-tail",
                     f"verified through seq {seq - 1}; {state.unsealed_count} record(s) not yet sealed")


def _check_rotation_tail(files: list, state) -> None:
    """Every file but the newest ends with a rotation; one more rotation means the newest file was deleted."""
    if not files or state.summary.counts.get("rotation", 0) < len(files):
        return
    next_name = chain_file_name(state.summary.stream, files[-1].index + 1)
    for problem in reversed(state.problems):  # this stream's problems are the shared list's tail: look only there,
        if problem.stream != state.summary.stream:  # so the work stays linear in the number of streams (issue 14.5)
            break
        if problem.file == next_name:
            return
    state.report(next_name, None, None, "missing-file", "the last file ends with a rotation to this file")


def note_unsigned_streams(summaries: list) -> None:
    """Self-keyed, an unsigned stream next to signed ones is what a forged stream looks like: say so."""
    if any(s.signed_checkpoints for s in summaries):
        for summary in summaries:
            if summary.records and not summary.signed_checkpoints:
                summary.notes.append("no signed checkpoint, while other streams are signed: verify with "
                                     "--trusted-key to tell a forged stream from a real one")

