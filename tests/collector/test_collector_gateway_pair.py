"""The gateway pair of collector-config/otelcol-gxp-gateway.yaml: two collectors, one audit directory, two
streams. Each keeps its own chain (its own stream lock), and the directory verifies as a whole."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest_auth import Pki
from otelcol_process import ROOT, Collector, audit_records, go_verify, require_build

pytestmark = pytest.mark.collector

GATEWAY_CONFIG = ROOT / "collector-config" / "otelcol-gxp-gateway.yaml"


def traces(gateway: str, n: int) -> dict:
    now = time.time_ns()
    spans = [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": f"{i + 1:016x}", "name": f"{gateway}-{i}",
              "kind": 2, "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1)} for i in range(n)]
    return {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}


def logs(n: int) -> dict:
    records = [{"timeUnixNano": str(time.time_ns()), "observedTimeUnixNano": str(time.time_ns()),
                "body": {"stringValue": f"event {i}"}} for i in range(n)]
    return {"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}


def test_two_gateways_write_two_verified_chains_into_one_audit_store(tmp_path: Path) -> None:
    require_build()
    store = tmp_path / "audit-store"
    pki = Pki(tmp_path / "pki")
    gateways = {
        name: Collector(tmp_path / name, config=GATEWAY_CONFIG, pki=pki, subject=f"agent-for-{name}",
                        env={"GXP_GATEWAY": name, "GXP_AUDIT_DIR": str(store)})
        for name in ("gateway.a", "gateway.b")
    }
    try:
        for gateway in gateways.values():
            gateway.start()
        for name, gateway in gateways.items():
            assert gateway.post("traces", traces(name, 5)) == 200
            assert gateway.post("logs", logs(3)) == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, report = go_verify(store)
            if status == 0 and sum(s["records"] for s in report["streams"]) >= 2 * (1 + 5 + 3):
                break
            time.sleep(0.2)
        for gateway in gateways.values():
            assert gateway.stop() == 0
    finally:
        for gateway in gateways.values():
            gateway.kill()
    status, report = go_verify(store)
    assert status == 0 and report["ok"], report["problems"]
    streams = {s["stream"]: s for s in report["streams"]}
    assert sorted(streams) == ["gateway.a", "gateway.b"]
    for stream in streams.values():
        assert stream["closed"] and stream["records"] == 1 + 5 + 3 + 1  # genesis, spans, logs, close checkpoint
    for record in audit_records(store):
        if record["kind"] in ("span", "log"):
            assert record["body"]["ingest"]["subject"] == f"agent-for-{record['stream']}"
