"""Bad input is recorded safely and flagged, never a crash, never an unverifiable line."""

from __future__ import annotations

import math

from opentelemetry._logs import LogRecord

from gxp_otel.audit.exporters import ComplianceLogExporter
from gxp_otel.audit.verifier import verify_trail
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from trail_helpers import records, traced


class Unprintable:
    def __repr__(self):
        raise RuntimeError("no repr")


def _nested(depth):
    value = "leaf"
    for _ in range(depth):
        value = {"n": value}
    return value


def test_hostile_attribute_keys_and_values_are_recorded_and_verify(tmp_path):
    provider, _ = traced(tmp_path)
    attributes = {
        'key with "quotes"\nand newline': "v",
        "nan": math.nan,
        "inf": -math.inf,
        "huge": "x" * 2_000_000,
        "lone surrogate": "bad \udc80 text",
        "control": "\x00\x01\x1f",
    }
    with provider.get_tracer("t").start_as_current_span("hostile", attributes=attributes):
        pass
    provider.shutdown()
    report = verify_trail(tmp_path)
    assert report.ok, report.problems
    body = next(r["body"] for r in records(tmp_path) if r["kind"] == "span")
    assert body["attributes"]['key with "quotes"\nand newline'] == {"stringValue": "v"}
    assert body["attributes"]["nan"] == {"doubleValue": "NaN"}
    assert len(body["attributes"]["huge"]["stringValue"]) == 2_000_000
    assert body["attributes"]["lone surrogate"] == {"stringValue": "bad \ufffd text"}
    assert any("invalid-utf8" in c for c in body["coerced"])


def test_log_bodies_of_any_shape_are_recorded_coerced_and_flagged(tmp_path):
    exporter = ComplianceLogExporter(tmp_path)
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    cyclic = {}
    cyclic["self"] = cyclic
    for body in (Unprintable(), cyclic, _nested(100), {1: "int key"}, b"\xff\xfe raw", {"s": {1, 2}}, 10**30):
        provider.get_logger("t").emit(LogRecord(body=body))
    provider.shutdown()
    logs = [r["body"] for r in records(tmp_path) if r["kind"] == "log"]
    assert len(logs) == 7
    reasons = [" ".join(log.get("coerced", [])) for log in logs]
    assert "not-json-type:Unprintable" in reasons[0]
    assert "cycle" in reasons[1]
    assert "depth" in reasons[2]
    assert "non-string-key" in reasons[3]
    assert logs[4]["body"] == {"bytesValue": "//4gcmF3"} and reasons[4] == ""
    assert "not-json-type:set" in reasons[5]
    assert "int-out-of-range" in reasons[6]
    assert verify_trail(tmp_path).ok
