"""12.3/12.5: a human decision carries the identity of whoever answered, declared on the answering side; anything else
is recorded as automated. Approval records carry the run's correlation id, GAMP category and risk level."""

from __future__ import annotations

import asyncio

import pytest
from workflows import Context, Workflow, step
from workflows.events import StartEvent, StopEvent

from gxp_otel.attribution import attribution, send_human_response
from instr_helpers import Approval, Decision, HumanInTheLoop


class SlaGuard(Workflow):
    """A step answers its own approval request when the SLA expires: a machine decision, not a person's."""

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> Approval:
        ctx.send_event(Decision(response="auto-rejected: SLA expired", approved=False))
        return Approval(prefix="approve?", suite="TS-1")

    @step
    async def decide(self, ctx: Context, ev: Decision) -> StopEvent:
        return StopEvent(result={"approved": ev.approved})


async def answered(respond):
    with attribution(user_id="author", correlation_id="CC-2026-0042", gamp_category=5, risk_level="high"):
        handler = HumanInTheLoop(timeout=10).run()
    async for ev in handler.stream_events():
        if isinstance(ev, Approval):
            respond(handler.ctx)
    return await handler


def decision_record(telemetry):
    (record,) = [r for r in telemetry.log_records() if r.event_name == "Decision"]
    return record.attributes


def test_a_declared_answer_is_the_responders_decision_with_the_runs_context(telemetry):
    def respond(ctx):
        with attribution(user_id="someone.else", correlation_id="OTHER"):
            send_human_response(ctx, Decision(response="approved", approved=True), responder="qa.reviewer")

    assert asyncio.run(answered(respond)) == {"approved": True}
    attributes = decision_record(telemetry)
    assert attributes["gxp.hitl.action"] == "human-response"
    assert attributes["gxp.hitl.decision"] == "declared"
    assert attributes["gxp.hitl.responder"] == attributes["enduser.id"] == "qa.reviewer"
    # 12.5: the run's context, not the answering side's, so a search by change-control number finds the approval
    assert attributes["gxp.correlation.id"] == "CC-2026-0042"
    assert attributes["gxp.gamp.category"] == 5 and attributes["gxp.risk.level"] == "high"


def test_an_answer_sent_without_a_declared_responder_is_automated_not_the_run_starters(telemetry):
    asyncio.run(answered(lambda ctx: ctx.send_event(Decision(response="y", approved=True))))
    attributes = decision_record(telemetry)
    assert attributes["gxp.hitl.action"] == "automated-response"
    assert attributes["gxp.hitl.decision"] == "automated"
    assert "gxp.hitl.responder" not in attributes
    assert attributes["gxp.correlation.id"] == "CC-2026-0042"


def test_a_step_answering_its_own_request_is_recorded_as_automated_by_that_step(telemetry):
    async def go():
        with attribution(user_id="author"):
            return await SlaGuard(timeout=10).run()

    result = asyncio.run(go())
    assert result == {"approved": False}
    attributes = decision_record(telemetry)
    assert attributes["gxp.hitl.action"] == "automated-response"
    assert attributes["gxp.hitl.sender"] == "ask"
    assert "gxp.hitl.responder" not in attributes


@pytest.mark.parametrize("signature, decision", [
    ({"stream": "vm.0", "seq": "4", "hash": "ab" * 32}, "e-signed"),
    ({"key_id": "k", "sig": "00"}, "declared"),  # not a record reference: §12.4 would reject an e-signed claim
    ({"stream": "vm.0", "seq": "4"}, "declared"),
])
def test_an_answer_is_e_signed_only_when_it_cites_a_signature_record(telemetry, signature, decision):
    from examples_loader import approval_event_class

    Signed = approval_event_class()

    class SignedReview(Workflow):
        @step
        async def ask(self, ctx: Context, ev: StartEvent) -> Approval:
            return Approval(prefix="approve?", suite="TS-1")

        @step
        async def decide(self, ctx: Context, ev: Signed) -> StopEvent:
            return StopEvent(result=ev.approved)

    async def go():
        handler = SignedReview(timeout=10).run()
        async for ev in handler.stream_events():
            if isinstance(ev, Approval):
                send_human_response(handler.ctx, Signed(response="approved", approved=True, reviewer="qa",
                                                        signature=signature), responder="qa")
        return await handler

    assert asyncio.run(go()) is True
    (record,) = [r for r in telemetry.log_records() if r.attributes.get("gxp.hitl.action") == "human-response"]
    assert record.attributes["gxp.hitl.decision"] == decision


def test_a_human_response_needs_a_responder():
    with pytest.raises(ValueError, match="responder"):
        send_human_response(object(), Decision(response="y", approved=True), responder=" ")
