"""Spans the SDK drops from a full queue are recorded in the trail as a gap: nothing is lost silently."""

from __future__ import annotations

import threading

from opentelemetry.sdk.trace import TracerProvider

from gxp_otel.audit.exporters import ComplianceSpanExporter
from gxp_otel.audit.processors import ComplianceBatchSpanProcessor
from gxp_otel.audit.verifier import verify_trail
from trail_helpers import records


def test_spans_dropped_by_a_full_queue_appear_as_a_gap_with_their_count(tmp_path):
    exporter = ComplianceSpanExporter(tmp_path)
    release = threading.Event()
    real_export = exporter.export

    def slow_export(spans):
        release.wait(30)  # the worker is stuck: the queue fills up
        return real_export(spans)

    exporter.export = slow_export
    processor = ComplianceBatchSpanProcessor(exporter, max_queue_size=4, max_export_batch_size=2,
                                             schedule_delay_millis=10)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    for i in range(40):
        tracer.start_span(f"s{i}").end()
    release.set()
    provider.shutdown()
    assert processor.dropped > 0
    kept = [r for r in records(tmp_path) if r["kind"] == "span"]
    gaps = [r for r in records(tmp_path) if r["kind"] == "gap"]
    assert sum(int(g["body"]["count"]) for g in gaps) == processor.dropped
    assert len(kept) + processor.dropped == 40
    report = verify_trail(tmp_path)
    assert report.ok and report.streams[0].lost == {"spans": processor.dropped}
