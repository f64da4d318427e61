"""Runs a golden vector's steps through the Python writer (shared by the generator and the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import otlp_json

from gxp_otel.audit.exporters import ComplianceLogExporter, ComplianceSpanExporter
from gxp_otel.audit.signing import CheckpointSigner
from gxp_otel.audit.writer import AuditTrailWriter

VECTORS = Path(__file__).parent / "vectors"


class VectorClock:
    """Record ``i`` of the run is recorded at ``start + i * step`` (one reading per record, across sessions)."""

    def __init__(self, start: int, step: int) -> None:
        self.next, self.step = start, step

    def __call__(self) -> int:
        value = self.next
        self.next += self.step
        return value


def open_writer(directory: Path, params: dict[str, Any], clock: VectorClock) -> AuditTrailWriter:
    seed = params.get("signing_key_seed") or ""
    return AuditTrailWriter(
        directory,
        stream_id=params["stream"],
        writer_name=params["writer"],
        host=params["host"],
        pid=int(params["pid"]),
        config_fingerprint=params["config_fingerprint"],
        retention_days=int(params.get("retention_days", "2555")),
        signing_key=CheckpointSigner.from_seed(seed) if seed else None,
        rotate_bytes=int(params.get("rotate_bytes", "50000000")),
        rotate_daily=params.get("rotate_daily", "false") == "true",
        compress=False,
        checkpoint_interval=10**9,
        checkpoint_records=10**9,
        clock=clock,
    )


def abandon(writer: AuditTrailWriter) -> None:
    """A crash: the process dies without closing (no close checkpoint), releasing only its lock."""
    writer.abandon()


def run_steps(vector: dict[str, Any], directory: Path) -> None:
    params = vector["writer"]
    clock = VectorClock(int(vector["clock"]["start_ns"]), int(vector["clock"]["step_ns"]))
    writer = open_writer(directory, params, clock)
    for step in vector["steps"]:
        op = step["op"]
        if op == "spans":
            assert ComplianceSpanExporter(writer=writer).export(otlp_json.spans(step["otlp"])).name == "SUCCESS"
        elif op == "logs":
            assert ComplianceLogExporter(writer=writer).export(otlp_json.logs(step["otlp"])).name == "SUCCESS"
        elif op == "checkpoint":
            writer.checkpoint(step.get("reason", "interval"))
        elif op == "gap":
            writer.note_loss(step["signal"], int(step["count"]), step["reason"], int(step["first_time_ns"]))
        elif op == "flush":
            writer.flush()
        elif op == "close":
            writer.close()
        elif op == "crash":
            abandon(writer)
        elif op == "append_raw":
            with open(writer.current_file, "ab") as handle:
                handle.write(step["bytes"].encode("utf-8"))
        elif op == "reopen":
            writer = open_writer(directory, params, clock)
        else:
            raise ValueError(f"unknown vector op {op!r}")
    if not writer.closed:
        writer.close()


def trail_files(directory: Path) -> dict[str, str]:
    """Every chain, checkpoint and quarantine file of the trail, as text (lock files excluded)."""
    return {
        p.name: p.read_bytes().decode("utf-8")
        for p in sorted(directory.iterdir())
        if p.is_file() and not p.name.endswith(".lock")
    }


def vector_problems(report, directory: Path) -> list[dict[str, Any]]:
    """The report's problems as expected.json lists them: a held copy's path relative to the vector directory
    (``held/...``: the verifier reports the path as it was given, §10.5)."""
    prefix = str(directory) + "/"
    return [{"file": p.file[len(prefix):] if p.file.startswith(prefix) else p.file, "line": p.line, "seq": p.seq,
             "kind": p.kind} for p in report.problems]


def verify_vector(directory: Path, options: dict[str, Any]):
    """Verify ``directory/trail`` with a vector's options (tests/vectors/README.md)."""
    from gxp_otel.audit.verifier import verify_trail

    return verify_trail(
        directory / "trail",
        trusted_keys=options.get("trusted_keys", []),
        checkpoint_files=[directory / p for p in options.get("checkpoint_files", [])],
        signers=options.get("signers", []),
        purgers=options.get("purgers", []),
    )

