"""12.10: GAMP risk-based capture, a documented table applied per run from its attribution and recorded in the run's
records; category 5/high (and any run without a category) captures exactly what gxp-otel always captured."""

from __future__ import annotations

import asyncio

import pytest

from agent_helpers import triage_workflow
from gxp_otel.attribution import attribution, send_human_response
from gxp_otel.instrumentation.gamp_policy import POLICY_TABLE, STRICTEST, policy_for
from instr_helpers import Approval, Decision, HumanInTheLoop


@pytest.mark.parametrize(("category", "risk", "payloads", "signature"), [
    (5, "high", "full", True), ("5", "HIGH", "full", True), ("Category 4", "medium", "full", False),
    (3, "low", "hashed", False), (1, "high", "hashed", False), (None, None, "full", True), (2, "low", "full", True),
    (5, "unknown", "full", True),
])
def test_the_policy_table(category, risk, payloads, signature):
    policy = policy_for(category, risk)
    assert (policy.payloads, policy.signature_required) == (payloads, signature)


def test_no_row_captures_more_than_5_high_and_5_high_is_the_default():
    assert policy_for(None, None) is STRICTEST is POLICY_TABLE[(5, "high")]
    assert STRICTEST.payloads == "full" and STRICTEST.signature_required


async def run_triage(**attribution_kwargs):
    with attribution(user_id="analyst", **attribution_kwargs):
        handler = triage_workflow().run(user_msg="Check batch B-7 please")
    async for _ in handler.stream_events():
        pass
    return await handler


def payload_texts(telemetry):
    spans = telemetry.finished_spans()
    return [v for s in spans for k, v in s.attributes.items() if k in ("input.value", "output.value")]


def test_category_1_records_every_event_but_only_hashes_of_payloads(telemetry):
    result = asyncio.run(run_triage(gamp_category=1, risk_level="low"))
    assert "approved" in str(result)  # the run itself is unchanged
    run = telemetry.span_named("AgentWorkflow.run")
    assert run.attributes["gxp.capture.policy"] == "1/low" and run.attributes["gxp.capture.payloads"] == "hashed"
    assert set(payload_texts(telemetry)) == {"__REDACTED__"}
    assert not [k for s in telemetry.finished_spans() for k, v in s.attributes.items()
                if k.startswith("llm.input_messages.") and k.endswith(".content") and v != "__REDACTED__"]
    hashed = [e for s in telemetry.finished_spans() for e in s.attributes.get("gxp.capture.hashed", ())]
    assert any(e.startswith("llm.input_messages.") and " sha256=" in e for e in hashed)
    events = [r for r in telemetry.log_records() if r.attributes.get("gxp.event.type") == "ToolCall"]
    assert len(events) == 5 and {r.body for r in events} == {"__REDACTED__"}
    assert all(len(r.attributes["gxp.event.payload.sha256"]) == 64 for r in events)


def test_category_5_high_and_no_category_capture_as_before(telemetry):
    asyncio.run(run_triage(gamp_category=5, risk_level="high"))
    asyncio.run(run_triage())
    runs = [s for s in telemetry.finished_spans() if s.name == "AgentWorkflow.run"]
    assert [r.attributes["gxp.capture.policy"] for r in runs] == ["5/high", "5/high"]
    assert "__REDACTED__" not in payload_texts(telemetry)
    assert "Check batch B-7 please" in "".join(payload_texts(telemetry))


def test_an_unsigned_approval_under_a_policy_requiring_signatures_is_flagged(telemetry):
    async def go(category):
        with attribution(user_id="author", gamp_category=category, risk_level="high"):
            handler = HumanInTheLoop(timeout=10).run()
        async for ev in handler.stream_events():
            if isinstance(ev, Approval):
                send_human_response(handler.ctx, Decision(response="ok", approved=True), responder="qa")
        return await handler

    asyncio.run(go(5))
    asyncio.run(go(3))
    flagged, unflagged = [r.attributes for r in telemetry.log_records() if r.event_name == "Decision"]
    assert flagged["gxp.capture.policy"] == "5/high" and flagged["gxp.hitl.signature_missing"] is True
    assert unflagged["gxp.capture.policy"] == "3/high" and "gxp.hitl.signature_missing" not in unflagged
