"""Every stream event becomes exactly one log record and one span event on the emitting step's span."""

from __future__ import annotations

import asyncio
import json
import logging

from instr_helpers import HumanInTheLoop, Decision, Approval, ThreeStep, Weird, run_collecting

from gxp_otel.attribution import attribution, send_human_response


def test_one_log_record_and_one_span_event_per_stream_event(telemetry):
    _, run_id, streamed = asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    progress = [ev for ev in streamed if type(ev).__name__ == "Progress"]
    logs = telemetry.log_records()
    assert len(progress) == 3 and len(logs) == 3
    for name, log in zip(("a", "b", "c"), sorted(logs, key=lambda r: r.attributes["gxp.step.name"])):
        step_span = telemetry.span_named(f"ThreeStep.{name}")
        (span_event,) = step_span.events
        assert span_event.name == "Progress" == log.event_name
        assert log.trace_id == step_span.context.trace_id
        assert log.span_id == step_span.context.span_id
        assert log.attributes["gxp.workflow.run_id"] == run_id == step_span.attributes["gxp.workflow.run_id"]
        assert log.attributes["gxp.step.name"] == name
        assert log.attributes["gxp.event.source"] == "stream"
        assert log.body == json.loads(span_event.attributes["gxp.event.payload"])
        assert log.body["step"] == name
        assert "gxp.event.payload.sha256" not in log.attributes  # the full value is there: no hash needed
    assert not telemetry.span_named("ThreeStep.run").events


def test_the_users_stream_is_not_consumed(telemetry):
    _, _, streamed = asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    assert [type(ev).__name__ for ev in streamed] == ["Progress", "Progress", "Progress", "StopEvent"]


def test_payloads_json_cannot_hold_are_coerced_and_flagged_and_the_run_succeeds(telemetry):
    result, _, _ = asyncio.run(run_collecting(Weird(timeout=10)))
    assert result == "survived"
    (log,) = telemetry.log_records()
    coerced = log.attributes["gxp.event.payload.coerced"]
    assert {c.split(": ")[1] for c in coerced} >= {"non-finite-float", "bytes", "not-json-type:object", "cycle",
                                                   "int-out-of-range", "invalid-utf8"}
    assert log.attributes["gxp.event.payload.truncated"] is True
    assert log.attributes["gxp.event.payload.size"] > 100_000
    from gxp_otel.instrumentation import GxpWorkflowInstrumentor

    assert GxpWorkflowInstrumentor().statistics.snapshot()["errors"] == 0


def test_event_filter_excludes_event_types(telemetry_factory):
    from gxp_otel.instrumentation import EventFilter

    telemetry = telemetry_factory(event_filter=EventFilter(exclude=["Progress"]))
    asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    assert telemetry.log_records() == []
    assert all(not s.events for s in telemetry.finished_spans())


def test_input_required_and_human_response_are_attributable_actions(telemetry):
    async def scenario():
        with attribution(user_id="author"):
            handler = HumanInTheLoop(timeout=10).run()
        async for ev in handler.stream_events():
            if isinstance(ev, Approval):
                send_human_response(handler.ctx, Decision(response="yes", approved=True), responder="qa.reviewer")
        return await handler, str(handler.run_id)

    result, run_id = asyncio.run(scenario())
    assert result == {"approved": True}
    by_name = {r.event_name: r for r in telemetry.log_records()}
    asked, answered = by_name["Approval"], by_name["Decision"]
    ask_span = telemetry.span_named("HumanInTheLoop.ask")
    run_span = telemetry.span_named("HumanInTheLoop.run")
    assert asked.attributes["gxp.event.source"] == "step-return"
    assert asked.attributes["enduser.id"] == "author"
    assert asked.span_id == ask_span.context.span_id
    assert answered.attributes["gxp.event.source"] == "human-response"
    assert answered.attributes["enduser.id"] == "qa.reviewer"
    assert answered.attributes["gxp.hitl.responder"] == "qa.reviewer"
    assert answered.attributes["gxp.workflow.run_id"] == run_id
    assert answered.trace_id == run_span.context.trace_id and answered.span_id == run_span.context.span_id
    assert [e.name for e in run_span.events] == ["Decision"]
    assert [e.name for e in ask_span.events] == ["Approval"]


def test_python_logging_from_a_step_is_bridged_with_trace_correlation(telemetry):
    from gxp_otel.instrumentation.logging_bridge import OTelLoggingHandler
    from workflows import Context, Workflow, step
    from workflows.events import StartEvent, StopEvent

    class Logs(Workflow):
        @step
        async def a(self, ctx: Context, ev: StartEvent) -> StopEvent:
            logging.getLogger("pharma.categorization").warning("category %s chosen", 5, extra={"obj": object()})
            return StopEvent(result=None)

    logger = logging.getLogger("pharma")
    handler = OTelLoggingHandler(telemetry.logger_provider)
    logger.addHandler(handler)
    try:
        asyncio.run(run_collecting(Logs(timeout=10)))
    finally:
        logger.removeHandler(handler)
    (record,) = telemetry.log_records()
    (step_span,) = [s for s in telemetry.finished_spans() if s.attributes.get("gxp.step.name") == "a"]
    assert record.body == "category 5 chosen"
    assert record.severity_text == "WARN"
    assert record.span_id == step_span.context.span_id
    assert record.attributes["log.logger"] == "pharma.categorization"
    assert list(record.attributes["gxp.log.coerced"]) == ["attributes/obj: not-json-type:object"]
    assert record.attributes["gxp.workflow.run_id"] == step_span.attributes["gxp.workflow.run_id"]



class _BrokenLogger:
    def emit(self, *args, **kwargs):
        raise RuntimeError("log pipeline broken")


class _BrokenLoggerProvider:
    def get_logger(self, *args, **kwargs):
        return _BrokenLogger()


def test_a_broken_log_pipeline_is_counted_never_raised(telemetry_factory):
    from gxp_otel.instrumentation import GxpWorkflowInstrumentor

    telemetry = telemetry_factory(logger_provider=_BrokenLoggerProvider())
    result, _, streamed = asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    assert result == {"n": 4} and len(streamed) == 4
    stats = GxpWorkflowInstrumentor().statistics.snapshot()
    assert stats["errors_by_kind"] == {"stream-event": 3}
    assert len(telemetry.finished_spans()) == 4


def test_openinference_hide_variables_also_hide_event_payloads(telemetry_factory, monkeypatch):
    monkeypatch.setenv("OPENINFERENCE_HIDE_INPUTS", "true")
    telemetry = telemetry_factory()
    asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    assert {r.body for r in telemetry.log_records()} == {"__REDACTED__"}
    assert all(r.attributes["gxp.event.payload.redacted"] for r in telemetry.log_records())
    assert telemetry.span_named("ThreeStep.run").attributes["input.value"] == "__REDACTED__"


def test_event_type_and_acting_agent_lookups_answer_as_plain_getattr():
    """The per-class memos behind `event_type_of` and the acting agent give what `getattr` gives, field or extra data."""
    from typing import ClassVar

    from workflows.events import Event, StartEvent

    from gxp_otel.instrumentation.acting_agents import _agent_name
    from gxp_otel.instrumentation.stream_events import event_type_of

    class Named(Event):
        gxp_event_type_field: ClassVar[str] = "kind"
        kind: str = ""

    class Agentful(Event):
        current_agent_name: str = "stats"

    class Plain(Event):
        n: int = 0

    for _ in range(2):  # the second time from the memo
        assert event_type_of(Named(kind="batch.release")) == "batch.release"
        assert event_type_of(Named()) == "Named"
        assert event_type_of(Plain()) == "Plain"
        for event in (Agentful(), Plain(), Plain(current_agent_name="intake"), StartEvent(current_agent_name="qa"),
                      StartEvent(), object()):
            assert _agent_name(event) == getattr(event, "current_agent_name", None)
    assert _agent_name(Plain(current_agent_name="intake")) == "intake"
