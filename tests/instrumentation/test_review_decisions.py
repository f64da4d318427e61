"""12.3/12.10 on the review page: declared, e-signed and automated decisions are told apart (only declared and
e-signed ones count as human approvals) and each run shows its GAMP capture policy, from a real trail."""

from __future__ import annotations

import asyncio

from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from gxp_otel.attribution import attribution, send_human_response
from instr_helpers import Approval, Decision, HumanInTheLoop


def test_the_review_page_tells_declared_from_automated_decisions_and_shows_the_policy(telemetry, tmp_path):
    from gxp_otel.audit.exporters import ComplianceLogExporter, ComplianceSpanExporter
    from gxp_otel.review import build_review

    spans, logs = ComplianceSpanExporter(tmp_path), ComplianceLogExporter(tmp_path)
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    telemetry.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))

    async def run(category, answer):
        with attribution(user_id="author", gamp_category=category, risk_level="high"):
            handler = HumanInTheLoop(timeout=10).run()
        async for ev in handler.stream_events():
            if isinstance(ev, Approval):
                answer(handler.ctx)
        await handler
        return str(handler.run_id)

    declared = asyncio.run(run(5, lambda ctx: send_human_response(
        ctx, Decision(response="approved", approved=True), responder="qa.reviewer")))
    automated = asyncio.run(run(3, lambda ctx: ctx.send_event(Decision(response="auto-rejected: SLA expired",
                                                                      approved=False))))
    spans.shutdown()
    logs.shutdown()
    data = build_review(tmp_path)
    runs = {r["run_id"]: r for r in data["runs"]}
    assert data["totals"]["approvals"] == 1
    (human,) = runs[declared]["approvals"]
    assert (human["responder"], human["kind"], human["signature_missing"]) == ("qa.reviewer", "declared", True)
    (machine,) = runs[automated]["approvals"]
    assert (machine["responder"], machine["kind"]) == ("", "automated")
    assert runs[declared]["capture_policy"] == "5/high" and runs[automated]["capture_policy"] == "3/high"
