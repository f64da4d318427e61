"""Real multi-agent runs recorded as they happened: 12.8 waiting inside an agent tool is not an error, a cancelled
run says it was cancelled and by whom; (12.7, 12.9 below) acting agents, handoffs and coalesced token streams."""

# No `from __future__ import annotations`: LlamaIndex injects `ctx` into tools by its real annotation.

import asyncio

import pytest

from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent
from llama_index.core.tools import FunctionTool
from opentelemetry.trace import StatusCode
from workflows import Context
from workflows.events import HumanResponseEvent, InputRequiredEvent

from agent_helpers import call, say, scripted_llm
from gxp_otel.attribution import attribution, send_human_response
from instr_helpers import ThreeStep


async def request_release(ctx: Context, batch: str) -> str:
    """Ask QA to release a batch and wait for the answer."""
    answer = await ctx.wait_for_event(HumanResponseEvent,
                                      waiter_event=InputRequiredEvent(prefix=f"release {batch}?"))
    return f"QA said: {answer.response}"


def test_a_tool_waiting_for_a_human_is_not_an_error(telemetry):
    agent = FunctionAgent(name="releaser", description="Releases batches.", system_prompt="Release.",
                          tools=[FunctionTool.from_defaults(async_fn=request_release)],
                          llm=scripted_llm([call("request_release", batch="B-7"), say("Released.")]))
    workflow = AgentWorkflow(agents=[agent], timeout=30)

    async def go():
        handler = workflow.run(user_msg="release B-7")
        async for ev in handler.stream_events():
            if isinstance(ev, InputRequiredEvent):
                send_human_response(handler.ctx, HumanResponseEvent(response="release"), responder="qa.lead")
        return await handler

    result = asyncio.run(go())
    assert "Released" in str(result)
    spans = telemetry.finished_spans()
    assert [s.name for s in spans if s.status.status_code is StatusCode.ERROR] == []
    waited = [s for s in spans if s.attributes.get("gxp.span.waiting")]
    assert waited and all(s.status.status_code is StatusCode.OK for s in waited)
    assert any(s.name == "FunctionTool.acall" for s in waited)
    (answer,) = [r for r in telemetry.log_records() if r.attributes.get("gxp.hitl.action") == "human-response"]
    assert answer.attributes["gxp.hitl.responder"] == "qa.lead"


def test_cancel_run_is_recorded_as_cancelled_with_who_cancelled(telemetry):
    async def go():
        with attribution(user_id="author"):
            handler = ThreeStep(timeout=30).run(n=1, pause=5)
        async for ev in handler.stream_events():
            with attribution(user_id="shift.supervisor"):
                await handler.cancel_run()
            break
        try:
            await handler
        except Exception:
            pass

    asyncio.run(go())
    run = telemetry.span_named("ThreeStep.run")
    assert run.attributes["gxp.workflow.outcome"] == "cancelled"
    assert run.attributes["gxp.workflow.cancelled_by"] == "shift.supervisor"
    assert run.attributes["enduser.id"] == "author"
    assert run.status.status_code is not StatusCode.ERROR


async def triage(**kwargs):
    from agent_helpers import triage_workflow

    with attribution(user_id="analyst", agent_id="triage-system"):
        handler = triage_workflow(**kwargs).run(user_msg="Check batch B-7")
    streamed = [ev async for ev in handler.stream_events()]
    return await handler, streamed


def test_every_span_carries_the_acting_agent_and_handoffs_are_recorded(telemetry):
    asyncio.run(triage())
    spans = telemetry.finished_spans()
    tools = {s.attributes.get("tool.name"): s.attributes.get("gxp.agent.id")
             for s in spans if s.attributes.get("openinference.span.kind") == "TOOL"}
    assert tools["lookup_batch"] == "intake"
    assert tools["compute_stats"] == tools["broken_instrument"] == "stats"
    llm_agents = [s.attributes.get("gxp.agent.id") for s in sorted(spans, key=lambda s: s.start_time)
                  if s.attributes.get("openinference.span.kind") == "LLM"]
    assert set(llm_agents) == {"intake", "stats", "qa_reviewer"}
    assert telemetry.span_named("AgentWorkflow.run").attributes["gxp.agent.id"] == "triage-system"
    handoffs = [(r.attributes["gxp.agent.handoff.from"], r.attributes["gxp.agent.handoff.to"])
                for r in telemetry.log_records() if r.event_name == "AgentHandoff"]
    assert handoffs == [("intake", "stats"), ("stats", "qa_reviewer")]
    streams = [r for r in telemetry.log_records() if r.event_name == "ToolCallResult"]
    assert {r.attributes["gxp.agent.id"] for r in streams} == {"intake", "stats"}
    assert all(r.attributes["enduser.id"] == "analyst" for r in telemetry.log_records())
    from gxp_otel.instrumentation import GxpWorkflowInstrumentor

    assert GxpWorkflowInstrumentor().statistics.snapshot()["errors"] == 0  # nothing failed silently


def test_a_streamed_answer_is_one_record_per_message_with_the_final_text_and_its_hash(telemetry_factory):
    import hashlib

    telemetry = telemetry_factory(payload_max_chars=20_000)
    final = "".join(f"t{i:04d} " for i in range(1000))  # 1000 chunks of 6 characters
    result, streamed = asyncio.run(triage(tokens=1000, final=final))
    assert final in str(result)
    user_chunks = [e for e in streamed if type(e).__name__ == "AgentStream" and e.current_agent_name == "qa_reviewer"]
    assert len(user_chunks) >= 1000  # the application's own stream is untouched
    records = [r for r in telemetry.log_records() if r.event_name == "AgentStream"
               and r.attributes.get("gxp.agent.id") == "qa_reviewer"]
    assert len(records) == 1
    (record,) = records
    body = record.body
    assert record.attributes["gxp.stream.chunks"] == len(user_chunks) == body["chunks"]
    assert body["response"] == final and "delta_text" not in body  # the deltas add up to the final text
    assert body["response_sha256"] == hashlib.sha256(final.encode()).hexdigest()
    assert sum(len(str(r.body)) for r in telemetry.log_records()) < 200_000
    assert len(telemetry.log_records()) < 60


def test_a_coalesced_message_keeps_every_delta_when_they_do_not_add_up(telemetry):
    from gxp_otel.instrumentation.stream_coalescing import StreamCoalescer
    from llama_index.core.agent.workflow import AgentStream

    coalescer = StreamCoalescer()
    for delta in ("Ba", "tch ", "OK"):
        coalescer.add(AgentStream(delta=delta, response="Batch", current_agent_name="qa"), "run-1")
    (message,) = coalescer.take(run_id="run-1")
    assert message.body["response"] == "Batch" and message.body["delta_text"] == "Batch OK"
    assert message.body["chunks"] == 3 and coalescer.take(everything=True) == []


def test_concurrent_agent_runs_keep_their_own_agents_users_and_policies(telemetry):
    from agent_helpers import triage_workflow

    async def one(user, category):
        with attribution(user_id=user, gamp_category=category, risk_level="low"):
            handler = triage_workflow().run(user_msg=f"Check batch for {user}")
        async for _ in handler.stream_events():
            pass
        await handler
        return str(handler.run_id)

    async def both():
        return await asyncio.gather(one("alice", 5), one("bob", 1))

    alice_run, bob_run = asyncio.run(both())
    spans = telemetry.finished_spans()
    for run_id, user, policy in ((alice_run, "alice", "5/low"), (bob_run, "bob", "1/low")):
        mine = [s for s in spans if s.attributes.get("gxp.workflow.run_id") == run_id]
        assert mine and {s.attributes["enduser.id"] for s in mine} == {user}
        (root,) = [s for s in mine if s.name == "AgentWorkflow.run"]
        assert root.attributes["gxp.capture.policy"] == policy
        tools = {s.attributes["tool.name"]: s.attributes["gxp.agent.id"]
                 for s in mine if s.attributes.get("openinference.span.kind") == "TOOL"}
        assert tools["lookup_batch"] == "intake" and tools["compute_stats"] == "stats"
        inputs = [s.attributes.get("input.value") for s in mine if s.attributes.get("input.value")]
        assert ("__REDACTED__" in inputs) is (policy == "1/low")


def test_a_react_agent_after_a_handoff_owns_its_spans_and_its_tool_secret_is_redacted(telemetry):
    from llama_index.core.agent.workflow import ReActAgent

    from agent_helpers import AWS_KEY, handoff, lookup_batch

    intake = FunctionAgent(name="intake", description="Routes.", system_prompt="Route.", can_handoff_to=["researcher"],
                           tools=[], llm=scripted_llm([handoff("researcher", "needs lookup")]))
    researcher = ReActAgent(
        name="researcher", description="Looks things up.", tools=[FunctionTool.from_defaults(lookup_batch)],
        llm=scripted_llm([say('Thought: I need the batch record.\nAction: lookup_batch\nAction Input: {"batch_id": "B-9"}'),
                          say("Thought: I have it.\nAnswer: Batch B-9 is released.")]))
    workflow = AgentWorkflow(agents=[intake, researcher], root_agent="intake", timeout=30)

    async def go():
        handler = workflow.run(user_msg="Is B-9 released?")
        async for _ in handler.stream_events():
            pass
        return await handler

    result = asyncio.run(go())
    assert "B-9 is released" in str(result)
    spans = telemetry.finished_spans()
    (tool,) = [s for s in spans if s.attributes.get("tool.name") == "lookup_batch"]
    assert tool.attributes["gxp.agent.id"] == "researcher"
    assert AWS_KEY not in repr(dict(tool.attributes)) and "[REDACTED:aws-access-key]" in tool.attributes["output.value"]
    llm_agents = {s.attributes.get("gxp.agent.id") for s in spans if s.attributes.get("openinference.span.kind") == "LLM"}
    assert llm_agents == {"intake", "researcher"}
    assert [(r.attributes["gxp.agent.handoff.from"], r.attributes["gxp.agent.handoff.to"])
            for r in telemetry.log_records() if r.event_name == "AgentHandoff"] == [("intake", "researcher")]


def test_a_stream_cut_short_by_an_exception_is_still_one_complete_record_on_its_step(telemetry):
    from llama_index.core.agent.workflow import AgentStream
    from workflows import Workflow, step
    from workflows.events import StartEvent, StopEvent

    class Streams(Workflow):
        @step
        async def talk(self, ctx: Context, ev: StartEvent) -> StopEvent:
            text = ""
            for piece in ("Assay ", "out of ", "spec"):
                text += piece
                ctx.write_event_to_stream(AgentStream(delta=piece, response=text, current_agent_name="qa"))
            raise RuntimeError("instrument disconnected")

    async def go():
        handler = Streams(timeout=10).run()
        async for _ in handler.stream_events():
            pass
        await handler

    with pytest.raises(RuntimeError, match="instrument disconnected"):  # telemetry never changes the outcome
        asyncio.run(go())
    (record,) = [r for r in telemetry.log_records() if r.event_name == "AgentStream"]
    (talk,) = [s for s in telemetry.finished_spans() if s.attributes.get("gxp.step.name") == "talk"]
    assert record.body["response"] == "Assay out of spec" and record.body["chunks"] == 3
    assert record.span_id == talk.context.span_id
    assert [e.name for e in talk.events if e.name == "AgentStream"] == ["AgentStream"]
