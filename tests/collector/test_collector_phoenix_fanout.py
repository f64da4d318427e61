"""The fan-out of collector-config/otelcol-gxp.yaml with a real Phoenix: the same spans reach Phoenix (batched,
over otlp_http) and the audit trail (gxpaudit), from one OTLP request to the collector."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from gxp_otel.phoenix import PhoenixClient, PhoenixServer, free_port

from otelcol_process import Collector, go_verify, require_build

pytestmark = [pytest.mark.collector, pytest.mark.phoenix]


def test_one_request_reaches_phoenix_and_the_trail(tmp_path: Path) -> None:
    require_build()
    phoenix = PhoenixServer(tmp_path / "phoenix-data", http_port=free_port(), grpc_port=free_port())
    phoenix.start(timeout=180)
    collector = Collector(tmp_path / "collector", env={"GXP_PHOENIX_ENDPOINT": phoenix.url})
    (tmp_path / "collector").mkdir(exist_ok=True)
    try:
        collector.start()
        project = f"fanout-{uuid.uuid4().hex[:8]}"
        trace_id = uuid.uuid4().hex
        now = time.time_ns()
        spans = [{"traceId": trace_id, "spanId": f"{i + 1:016x}", "name": f"step-{i}", "kind": 1,
                  "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000),
                  **({"parentSpanId": f"{1:016x}"} if i else {})} for i in range(3)]
        request = {"resourceSpans": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "fanout-test"}},
            {"key": "openinference.project.name", "value": {"stringValue": project}}]},
            "scopeSpans": [{"spans": spans}]}]}
        assert collector.post("traces", request) == 200

        counts = PhoenixClient(phoenix.url).wait_for_spans(project, [trace_id], {trace_id: 3}, timeout=60)
        assert counts == {trace_id: 3}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            lines = [json.loads(line) for path in collector.audit_dir.glob("audit-*-*.jsonl")
                     for line in path.read_bytes().split(b"\n")[:-1]]  # skip a line still being written
            written = {r["body"]["span_id"] for r in lines if r["kind"] == "span" and r["body"]["trace_id"] == trace_id}
            if len(written) == 3:
                break
            time.sleep(0.1)
        assert written == {f"{i + 1:016x}" for i in range(3)}
        assert collector.stop() == 0
    finally:
        collector.kill()
        phoenix.stop()
    status, report = go_verify(collector.audit_dir)
    assert status == 0 and report["ok"], report["problems"]
