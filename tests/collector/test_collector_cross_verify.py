"""Cross-verification: the Go verifier accepts a trail the Python writer wrote (rotated, compressed, signed), and
both verifiers report the same problems (file, line, seq, kind) when that trail is tampered with."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from gxp_otel.audit.exporters import ComplianceLogExporter, ComplianceSpanExporter
from gxp_otel.audit.signing import generate_key_pem

from otelcol_process import ROOT, go_verify, require_build

pytestmark = pytest.mark.collector


@pytest.fixture(scope="module")
def python_trail(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A Python-written trail: spans and logs of every attribute type, size-rotated and gzipped, signed."""
    require_build()
    work = tmp_path_factory.mktemp("python-trail")
    pem, signer = generate_key_pem()
    (work / "key.pem").write_bytes(pem)
    trail = work / "trail"
    options = {"stream_id": "py.0", "signing_key": str(work / "key.pem"), "rotate_bytes": 8192, "compress": True}
    resource = Resource.create({"service.name": "cross-verify", "enduser.id": "qa.lead"})
    spans = ComplianceSpanExporter(trail, **options)
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(ComplianceLogExporter(trail, **options)))
    tracer = tracer_provider.get_tracer("cross-verify", "1.0")
    logger = logger_provider.get_logger("cross-verify")
    for i in range(40):
        with tracer.start_as_current_span(f"step-{i}", attributes={
            "str": "é 😀 \u2028", "int": -(2**63), "float": 0.1 * i, "bool": i % 2 == 0, "list": (1, 2, 3),
            "gxp.workflow.run_id": f"run-{i // 10}"}) as span:
            span.add_event("stream_event", {"event.type": "GAMPCategorizationEvent", "n": i})
            logger.emit(body={"decision": "approved", "score": 1.5}, severity_number=SeverityNumber.INFO,
                        attributes={"gxp.user.id": "approver-1"})
    tracer_provider.shutdown()
    logger_provider.shutdown()
    assert list(trail.glob("*.jsonl.gz")), "the trail should have rotated and compressed files"
    return trail, signer.public_key_hex


def python_report(trail: Path, *args: str) -> tuple[int, dict]:
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "gxp-otel"), "verify", "--json", *args, str(trail)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def located(report: dict) -> list[tuple]:
    return [(p["file"], p["line"], p["seq"], p["kind"]) for p in report["problems"]]


def test_go_verifier_accepts_a_python_written_trail(python_trail: tuple[Path, str]) -> None:
    trail, public_key = python_trail
    status, go = go_verify(trail, "--trusted-key", public_key)
    assert status == 0 and go["ok"], go["problems"]
    _, py = python_report(trail, "--trusted-key", public_key)
    assert py["ok"] and py["records"] == go["records"] > 80
    assert go["streams"][0]["closed"] and go["streams"][0]["signed_checkpoints"] == go["streams"][0]["checkpoints"]


def tamper_edit(trail: Path) -> None:
    newest = sorted(trail.glob("audit-py.0-*.jsonl"))[-1]
    lines = newest.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"name":"step-', b'"name":"STEP-', 1)
    newest.write_bytes(b"\n".join(lines))


def tamper_delete_middle_file(trail: Path) -> None:
    files = sorted(trail.glob("audit-py.0-*.jsonl*"))
    files[len(files) // 2].unlink()


def tamper_truncate_tail(trail: Path) -> None:
    newest = sorted(trail.glob("audit-py.0-*.jsonl"))[-1]
    lines = newest.read_bytes().split(b"\n")
    newest.write_bytes(b"\n".join(lines[:-4]) + b"\n")


def tamper_wrong_key(trail: Path) -> None:
    pass  # the trail is intact; the verifiers are given a key that did not sign it


@pytest.mark.parametrize("tamper", [tamper_edit, tamper_delete_middle_file, tamper_truncate_tail, tamper_wrong_key])
def test_both_verifiers_report_the_same_problems(python_trail: tuple[Path, str], tmp_path: Path, tamper) -> None:
    trail = tmp_path / "trail"
    shutil.copytree(python_trail[0], trail)
    tamper(trail)
    key = python_trail[1] if tamper is not tamper_wrong_key else generate_key_pem()[1].public_key_hex
    go_status, go = go_verify(trail, "--trusted-key", key)
    py_status, py = python_report(trail, "--trusted-key", key)
    assert go_status == py_status == 1
    assert located(go) == located(py) != []
