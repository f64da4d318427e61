"""The audit status of each workflow run, computed from the trail, for display beside its trace in Phoenix.

``runs_in_trail`` reads a trail directory's chain files (plain or gzip) and groups its span and log records by trace:
which spans and stream events each trace has, in which stream, at which sequence numbers and files.
``audit_annotation`` turns one such run plus a verification report into the ``audit`` span annotation put on the
run's root span (for example ``audit: verified, stream host.0 seq 12..40, file audit-host.0-000001.jsonl``).

It only reads; whether the records are genuine is the verifier's business (``gxp_otel.audit.verifier``), and
``audit_annotation`` says "verified" only when that report has no problem at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gxp_otel.audit.report import TrailReport
from gxp_otel.phoenix.client import AuditAnnotation
from gxp_otel.review.scan import iter_records

RUN_ID = "gxp.workflow.run_id"


@dataclass
class RunInTrail:
    """Everything the trail holds about one trace (one workflow run)."""

    trace_id: str
    stream: str = ""
    root_span_id: str = ""
    root_name: str = ""
    run_id: str = ""
    spans: int = 0
    stream_events: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    files: list[str] = field(default_factory=list)
    streams: set[str] = field(default_factory=set)

    def _take(self, stream: str, seq: int, file: str) -> None:
        self.streams.add(stream)
        self.stream = self.stream or stream
        self.first_seq = seq if self.first_seq is None else min(self.first_seq, seq)
        self.last_seq = seq if self.last_seq is None else max(self.last_seq, seq)
        if file not in self.files:
            self.files.append(file)


def _string(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    for key in ("stringValue", "intValue"):
        if key in value:
            return str(value[key])
    return ""


def _records(directory: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(plain file name, record) for every readable record of every chain file, streams and files in order (the
    review's bounded reader: no link or FIFO followed, lines and .gz bounded, type-confused records skipped; when a
    crash during compression left both, the plain file is the one that counts)."""
    for hit in iter_records(directory):
        yield hit.file.removesuffix(".gz"), hit.record


def runs_in_trail(audit_dir: str | os.PathLike[str], since: str = "") -> list[RunInTrail]:
    """Runs (traces) with span or log records recorded at or after ``since`` (the trail's time format), in the order
    their first record was written."""
    runs: dict[str, RunInTrail] = {}
    for file, record in _records(Path(audit_dir)):
        kind, body = record.get("kind"), record.get("body") or {}
        if kind not in ("span", "log") or record.get("time", "") < since or not body.get("trace_id"):
            continue
        run = runs.setdefault(body["trace_id"], RunInTrail(body["trace_id"]))
        run._take(record["stream"], int(record["seq"]), file)
        attributes = body.get("attributes") or {}
        if kind == "log":
            run.stream_events += 1
            continue
        run.spans += 1
        if body.get("parent_span_id") == "":
            run.root_span_id, run.root_name = body.get("span_id", ""), body.get("name", "")
            run.run_id = run.run_id or _string(attributes.get(RUN_ID))
        elif not run.run_id:
            run.run_id = _string(attributes.get(RUN_ID))
    return list(runs.values())


def audit_annotation(run: RunInTrail, report: TrailReport, audit_dir: str | os.PathLike[str]) -> AuditAnnotation:
    """The ``audit`` annotation for ``run``'s root span: ``verified`` only when the whole trail verified."""
    summary = next((s for s in report.streams if s.stream == run.stream), None)
    sealed_to = int(summary.last_checkpoint["seq"]) if summary and summary.last_checkpoint else None
    signed = bool(summary and summary.signed_checkpoints)
    sealed = sealed_to is not None and run.last_seq is not None and sealed_to >= run.last_seq
    label = "verified" if report.ok else "failed"
    where = f"stream {run.stream} seq {run.first_seq}..{run.last_seq}, file {', '.join(run.files)}"
    if report.ok:
        seal = f"sealed by {'a signed' if signed else 'an UNSIGNED'} checkpoint at seq {sealed_to}" if sealed else "not yet sealed by a checkpoint"
        explanation = f"audit: verified, {where}; {seal}" + (f"; {report.verdict}: {report.caveat}" if report.caveat
                                                               else "")
    else:
        kinds = sorted({p.kind for p in report.problems})
        explanation = f"audit: FAILED ({len(report.problems)} problem(s): {', '.join(kinds)}), {where}"
    metadata = {
        "audit_dir": str(Path(audit_dir).resolve()),
        "stream": run.stream,
        "first_seq": str(run.first_seq),
        "last_seq": str(run.last_seq),
        "files": run.files,
        "spans": str(run.spans),
        "stream_events": str(run.stream_events),
        "sealed_by_checkpoint_seq": "" if sealed_to is None else str(sealed_to),
        "checkpoints_signed": signed,
        "problems": str(len(report.problems)),
        "verdict": report.verdict,  # docs/audit-format.md §13 (VERIFIED-SELF-KEYED: no writer key was given)
    }
    return AuditAnnotation(run.root_span_id, label, explanation, metadata)
