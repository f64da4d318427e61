"""Run and step spans: exactly one per run and per step execution, enriched with real payloads and the run id."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest
from opentelemetry.trace import StatusCode
from workflows.errors import WorkflowTimeoutError

from instr_helpers import Failing, ThreeStep, Slow, run_collecting


def test_three_step_run_is_one_run_span_with_one_child_per_step(telemetry):
    result, run_id, _ = asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    assert result == {"n": 4}
    spans = telemetry.finished_spans()
    assert sorted(s.name for s in spans) == ["ThreeStep.a", "ThreeStep.b", "ThreeStep.c", "ThreeStep.run"]
    run = telemetry.span_named("ThreeStep.run")
    assert run.parent is None
    for name in ("ThreeStep.a", "ThreeStep.b", "ThreeStep.c"):
        child = telemetry.span_named(name)
        assert child.parent.span_id == run.context.span_id
        assert child.context.trace_id == run.context.trace_id


def test_run_span_records_run_id_workflow_name_and_real_start_payload(telemetry):
    _, run_id, _ = asyncio.run(run_collecting(ThreeStep(timeout=10), n=1, operator="alice"))
    run = telemetry.span_named("ThreeStep.run")
    assert run.attributes["gxp.workflow.run_id"] == run_id
    assert run.attributes["gxp.workflow.name"] == "ThreeStep"
    assert run.attributes["gxp.workflow.start_event"] == "StartEvent"
    assert json.loads(run.attributes["input.value"]) == {"n": 1, "operator": "alice"}
    assert "BrokerState" not in run.attributes["input.value"] and "init_state" not in run.attributes["input.value"]
    assert json.loads(run.attributes["output.value"]) == {"n": 4}
    assert run.attributes["gxp.workflow.output_event"] == "StopEvent"
    assert run.status.status_code == StatusCode.OK


def test_step_spans_record_input_and_output_events_worker_and_retry(telemetry):
    _, run_id, _ = asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    b = telemetry.span_named("ThreeStep.b")
    assert b.attributes["gxp.step.name"] == "b"
    assert b.attributes["gxp.workflow.run_id"] == run_id
    assert b.attributes["gxp.step.input_event"] == "AEvent"
    assert json.loads(b.attributes["input.value"]) == {"n": 2}
    assert b.attributes["gxp.step.output_event"] == "BEvent"
    assert json.loads(b.attributes["output.value"]) == {"n": 3}
    assert b.attributes["gxp.step.retry"] == 0
    from workflows.runtime.types.results import StepWorkerState

    if "work_item_id" in getattr(StepWorkerState, "__dataclass_fields__", {}):  # llama-index-workflows >= 2.2x
        assert b.attributes["gxp.step.worker"]
    else:  # older releases have no worker identity to record
        assert "gxp.step.worker" not in b.attributes


def test_payload_hash_is_sha256_of_the_full_json_even_when_cut(telemetry_factory):
    telemetry = telemetry_factory(payload_max_chars=100)
    big = "r" * 5000
    asyncio.run(run_collecting(ThreeStep(timeout=10), n=1, note=big))
    run = telemetry.span_named("ThreeStep.run")
    full = json.dumps({"n": 1, "note": big}, separators=(",", ":")).encode()
    assert run.attributes["gxp.input.sha256"] == hashlib.sha256(full).hexdigest()
    assert run.attributes["gxp.input.size"] == len(full)
    assert run.attributes["gxp.input.truncated"] is True
    assert len(run.attributes["input.value"]) == 100


def test_capture_content_off_hides_every_payload_but_keeps_its_hash(telemetry_factory):
    telemetry = telemetry_factory(capture_content=False)
    asyncio.run(run_collecting(ThreeStep(timeout=10), n=1, secret="patient-123"))
    for span in telemetry.finished_spans():
        text = json.dumps(dict(span.attributes)) + json.dumps([dict(e.attributes) for e in span.events])
        assert "patient-123" not in text
    run = telemetry.span_named("ThreeStep.run")
    assert run.attributes["input.value"] == "__REDACTED__"
    assert len(run.attributes["gxp.input.sha256"]) == 64
    assert all("patient" not in str(r.body) for r in telemetry.log_records())
    assert {r.body for r in telemetry.log_records()} == {"__REDACTED__"}


def test_failing_step_marks_step_and_run_spans_as_errors_and_the_error_reaches_the_caller(telemetry):
    with pytest.raises(ValueError, match="assay limit exceeded"):
        asyncio.run(run_collecting(Failing(timeout=10)))
    step_b = telemetry.span_named("Failing.b")
    run = telemetry.span_named("Failing.run")
    assert step_b.status.status_code == StatusCode.ERROR
    assert any(e.name == "exception" for e in step_b.events)
    assert run.status.status_code == StatusCode.ERROR
    assert telemetry.span_named("Failing.a").status.status_code == StatusCode.OK


def test_timed_out_run_is_recorded_with_its_stream_event(telemetry):
    with pytest.raises(WorkflowTimeoutError):
        asyncio.run(run_collecting(Slow(timeout=1.0)))
    run = telemetry.span_named("Slow.run")
    assert run.status.status_code == StatusCode.ERROR
    assert "timed out" in run.status.description.lower() or "timeout" in run.status.description.lower()
    assert [r.event_name for r in telemetry.log_records()] == ["Progress"]


def test_other_spans_still_go_through_openinference(telemetry):
    from llama_index.core.llms import MockLLM

    asyncio.run(MockLLM(max_tokens=4).acomplete("hello"))
    llm_spans = [s for s in telemetry.finished_spans() if s.attributes.get("openinference.span.kind") == "LLM"]
    assert llm_spans and all("hello" in s.attributes["input.value"] for s in llm_spans)


def test_uninstrument_removes_every_hook(telemetry):
    from gxp_otel.instrumentation import GxpWorkflowInstrumentor

    GxpWorkflowInstrumentor().uninstrument()
    asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    assert telemetry.finished_spans() == [] and telemetry.log_records() == []
    GxpWorkflowInstrumentor().instrument(tracer_provider=telemetry.tracer_provider,
                                         logger_provider=telemetry.logger_provider)
    asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    assert len(telemetry.finished_spans()) == 4 and len(telemetry.log_records()) == 3


def test_a_retried_step_has_one_span_per_attempt_with_its_retry_number(telemetry):
    from instr_helpers import Flaky

    Flaky.attempts = 0
    result, _, _ = asyncio.run(run_collecting(Flaky(timeout=10)))
    assert result == "ok"
    attempts = sorted((s for s in telemetry.finished_spans() if s.name == "Flaky.a"), key=lambda s: s.start_time)
    assert [s.attributes["gxp.step.retry"] for s in attempts] == [0, 1]
    assert [s.status.status_code for s in attempts] == [StatusCode.ERROR, StatusCode.OK]
    assert telemetry.span_named("Flaky.run").status.status_code == StatusCode.OK


def test_a_run_cancelled_by_the_user_is_not_an_error(telemetry):
    from instr_helpers import Waits
    from workflows.errors import WorkflowCancelledByUser

    async def scenario():
        handler = Waits(timeout=10).run()
        async for ev in handler.stream_events():
            await handler.cancel_run()
            break
        with pytest.raises(WorkflowCancelledByUser):
            await handler

    asyncio.run(scenario())
    run, step_a = telemetry.span_named("Waits.run"), telemetry.span_named("Waits.a")
    assert run.status.status_code == StatusCode.OK and step_a.status.status_code == StatusCode.OK
    assert "span.cancelled" in [e.name for e in run.events]
    assert [e.name for e in step_a.events] == ["Progress", "span.cancelled"]


def test_hiding_content_also_applies_to_an_openinference_instrumented_earlier(telemetry_factory):
    from llama_index.core.llms import MockLLM
    from openinference.instrumentation.llama_index import LlamaIndexInstrumentor
    from opentelemetry.sdk.trace import TracerProvider

    LlamaIndexInstrumentor().instrument(tracer_provider=TracerProvider())  # someone else's, showing content
    telemetry = telemetry_factory(capture_content=False)
    asyncio.run(MockLLM(max_tokens=4).acomplete("patient PATIENT-7"))
    llm_spans = [s for s in telemetry.finished_spans() if s.attributes.get("openinference.span.kind") == "LLM"]
    assert llm_spans
    assert all("PATIENT-7" not in json.dumps(dict(s.attributes)) for s in llm_spans)


def test_a_step_waiting_for_an_event_is_not_an_error(telemetry):
    from workflows import Context, Workflow, step
    from workflows.events import HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent

    class Asks(Workflow):
        @step
        async def a(self, ctx: Context, ev: StartEvent) -> StopEvent:
            answer = await ctx.wait_for_event(HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="ok?"))
            return StopEvent(result=answer.response)

    async def scenario():
        handler = Asks(timeout=10).run()
        async for ev in handler.stream_events():
            if isinstance(ev, InputRequiredEvent):
                handler.ctx.send_event(HumanResponseEvent(response="yes"))
        return await handler

    assert asyncio.run(scenario()) == "yes"
    attempts = [s for s in telemetry.finished_spans() if s.attributes.get("gxp.step.name") == "a"]
    assert len(attempts) == 2  # paused (waiting), then replayed with the answer
    assert all(s.status.status_code != StatusCode.ERROR for s in attempts)
    assert telemetry.span_named("Asks.run").status.status_code == StatusCode.OK
    logs = {r.event_name: r for r in telemetry.log_records()}
    assert sorted(logs) == ["HumanResponseEvent", "InputRequiredEvent"]  # asked once, though the step ran twice
    assert logs["InputRequiredEvent"].attributes["gxp.event.source"] == "wait-for-event"
    first_attempt = min(attempts, key=lambda s: s.start_time)
    assert logs["InputRequiredEvent"].span_id == first_attempt.context.span_id
