"""The production topology (docs/deployment.md): the app sends traces and logs over OTLP to otelcol-gxp only; the
collector writes the audit trail with gxpaudit. The trail must verify with both verifiers (Python and Go), hold
every span and log record the app exported, and be signed with the collector's key."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gxp_otel.audit.signing import generate_key_pem

from otelcol_process import ROOT, Collector, audit_records, go_verify, require_build

pytestmark = pytest.mark.collector


def load_example():
    spec = importlib.util.spec_from_file_location("pharma_example", ROOT / "examples" / "pharma_test_generation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def record_kinds(trail: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in sorted(trail.glob("audit-*-*.jsonl")):
        complete = path.read_bytes().split(b"\n")[:-1]  # the collector may be mid-write: skip a partial last line
        for line in complete:
            kind = json.loads(line)["kind"]
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def wait_for_records(trail: Path, spans: int, logs: int, timeout: float = 30.0) -> dict[str, int]:
    """The persistent queue delivers asynchronously: wait until the trail holds what the app exported."""
    deadline = time.monotonic() + timeout
    while True:
        kinds = record_kinds(trail) if trail.exists() else {}
        if kinds.get("span", 0) >= spans and kinds.get("log", 0) >= logs or time.monotonic() > deadline:
            return kinds
        time.sleep(0.1)


def python_verify(trail: Path, *args: str) -> tuple[int, dict]:
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "gxp-otel"), "verify", "--json", *args, str(trail)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_workflow_telemetry_reaches_a_signed_verified_trail_through_the_collector(tmp_path: Path,
                                                                                  monkeypatch) -> None:
    require_build()
    pem, signer = generate_key_pem()
    key_file = tmp_path / "checkpoint-key.pem"
    key_file.write_bytes(pem)
    key_file.chmod(0o600)
    collector = Collector(tmp_path, env={"GXP_AUDIT_SIGNING_KEY": str(key_file), "GXP_AUDIT_STREAM": "e2e.0"})
    collector.start()
    # The SDK's own exporters send the bearer token (OTEL_EXPORTER_OTLP_HEADERS, values URL-encoded per the spec).
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer%20{collector.token('pharma-app')}")
    try:
        from gxp_otel.setup import instrument

        example = load_example()
        spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
        handle = instrument(service_name="pharma-test-generation", audit_dir=None,
                            otlp_endpoint=collector.http_url, otlp_logs_endpoint=collector.http_url,
                            span_exporters=[spans], log_exporters=[logs], agent_id="pharma-test-generator")
        try:
            result = asyncio.run(example.run_pharma_test_generation(user_id="qa.author"))
            assert handle.force_flush()
        finally:
            handle.shutdown()
        exported_spans, exported_logs = len(spans.get_finished_spans()), len(logs.get_finished_logs())
        assert result.result["status"] == "approved"
        assert exported_spans > 5 and exported_logs > 0
        kinds = wait_for_records(collector.audit_dir, exported_spans, exported_logs)
        assert collector.stop() == 0
    finally:
        collector.kill()

    assert kinds.get("span") == exported_spans and kinds.get("log") == exported_logs, kinds
    status, report = python_verify(collector.audit_dir, "--trusted-key", signer.public_key_hex)
    assert status == 0 and report["ok"], report["problems"]
    status, go_report = go_verify(collector.audit_dir, "--trusted-key", signer.public_key_hex)
    assert status == 0 and go_report["ok"], go_report["problems"]
    (stream,) = go_report["streams"]
    assert stream["stream"] == "e2e.0" and stream["closed"] and stream["signed_checkpoints"] >= 1
    assert report["records"] == go_report["records"] == sum(record_kinds(collector.audit_dir).values())
    subjects = {(r["kind"], r["body"]["ingest"]["subject"], r["body"]["ingest"]["via"])
                for r in audit_records(collector.audit_dir) if r["kind"] in ("span", "log")}
    assert subjects == {("span", "pharma-app", "authenticator"), ("log", "pharma-app", "authenticator")}
