"""Each run's audit status, read from a real trail written by the compliance exporters and judged by the verifier."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from gxp_otel.audit.exporters import ComplianceLogExporter, ComplianceSpanExporter
from gxp_otel.audit.signing import generate_key_pem
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.phoenix.audit_status import audit_annotation, runs_in_trail


def _write_two_runs(audit_dir: Path, key_file: Path) -> list[str]:
    spans = TracerProvider()
    spans.add_span_processor(SimpleSpanProcessor(ComplianceSpanExporter(audit_dir, signing_key=key_file)))
    logs = LoggerProvider()
    logs.add_log_record_processor(SimpleLogRecordProcessor(ComplianceLogExporter(audit_dir, signing_key=key_file)))
    tracer, logger = spans.get_tracer("t"), logs.get_logger("t")
    trace_ids = []
    for run in ("run-a", "run-b"):
        with tracer.start_as_current_span("Workflow.run", attributes={"gxp.workflow.run_id": run}) as root:
            with tracer.start_as_current_span("step"):
                logger.emit(body="progress", event_name="ProgressEvent")
                logger.emit(body="done", event_name="ProgressEvent")
        trace_ids.append(format(root.get_span_context().trace_id, "032x"))
    spans.shutdown()
    logs.shutdown()
    return trace_ids


def _key(tmp_path: Path) -> Path:
    pem, _ = generate_key_pem()
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(pem)
    return key_file


def test_runs_are_found_with_their_spans_stream_events_and_sequence_range(tmp_path: Path) -> None:
    audit_dir = tmp_path / "audit"
    trace_ids = _write_two_runs(audit_dir, _key(tmp_path))

    runs = runs_in_trail(audit_dir)
    assert [r.trace_id for r in runs] == trace_ids
    assert [(r.run_id, r.root_name, r.spans, r.stream_events) for r in runs] == [
        ("run-a", "Workflow.run", 2, 2), ("run-b", "Workflow.run", 2, 2)
    ]
    first, second = runs
    assert first.last_seq < second.first_seq and first.last_seq - first.first_seq == 3
    assert first.files == [f"audit-{first.stream}-000001.jsonl"]


def test_a_verified_trail_gives_a_verified_annotation_naming_seq_range_file_and_signed_seal(tmp_path: Path) -> None:
    audit_dir = tmp_path / "audit"
    _write_two_runs(audit_dir, _key(tmp_path))
    report = verify_trail(audit_dir)
    assert report.ok

    run = runs_in_trail(audit_dir)[0]
    annotation = audit_annotation(run, report, audit_dir)
    assert annotation.span_id == run.root_span_id and annotation.label == "verified" and annotation.score == 1.0
    assert annotation.explanation.startswith(
        f"audit: verified, stream {run.stream} seq {run.first_seq}..{run.last_seq}, file {run.files[0]}; sealed by a signed checkpoint"
    )


def test_a_tampered_trail_gives_a_failed_annotation(tmp_path: Path) -> None:
    audit_dir = tmp_path / "audit"
    _write_two_runs(audit_dir, _key(tmp_path))
    chain = next(audit_dir.glob("audit-*-000001.jsonl"))
    chain.write_bytes(chain.read_bytes().replace(b'"run-b"', b'"run-X"', 1))

    report = verify_trail(audit_dir)
    annotation = audit_annotation(runs_in_trail(audit_dir)[0], report, audit_dir)
    assert annotation.label == "failed" and annotation.score == 0.0
    assert "FAILED" in annotation.explanation and "modified" in annotation.explanation


def test_since_keeps_only_runs_recorded_after_it(tmp_path: Path) -> None:
    audit_dir = tmp_path / "audit"
    _write_two_runs(audit_dir, _key(tmp_path))
    assert runs_in_trail(audit_dir, since="9999-01-01T00:00:00.000000000Z") == []
