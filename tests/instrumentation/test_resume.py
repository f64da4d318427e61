"""A run resumed from a serialised context (`Context.to_dict` -> JSON -> `Context.from_dict`) stays in its trace."""

from __future__ import annotations

import asyncio
import contextvars
import json

from workflows import Context

from gxp_otel.attribution import attribution
from instr_helpers import Approval, Decision, HumanInTheLoop


async def run_until_approval_requested() -> dict:
    with attribution(user_id="author", correlation_id="req-9"):
        handler = HumanInTheLoop(timeout=10).run()
    async for ev in handler.stream_events():
        if isinstance(ev, Approval):
            data = handler.ctx.to_dict()
            await handler.cancel_run()
            break
    try:
        await handler
    except Exception:
        pass
    return data


async def resume(data: dict, reviewer: str | None):
    workflow = HumanInTheLoop(timeout=10)
    ctx = Context.from_dict(workflow, data)
    handler = workflow.run(ctx=ctx)
    if reviewer:
        with attribution(user_id=reviewer):
            handler.ctx.send_event(Decision(response="y", approved=True))
    else:
        handler.ctx.send_event(Decision(response="y", approved=True))
    return await handler


def test_resumed_run_is_a_child_of_the_original_run_span_in_the_same_trace(telemetry):
    data = json.loads(json.dumps(asyncio.run(run_until_approval_requested())))
    assert "gxp_otel" in data
    # A fresh context stands in for another process: no span, no attribution.
    result = contextvars.Context().run(asyncio.run, resume(data, reviewer=None))
    assert result == {"approved": True}
    first, resumed = sorted((s for s in telemetry.finished_spans() if s.name == "HumanInTheLoop.run"),
                            key=lambda s: s.start_time)
    assert resumed.context.trace_id == first.context.trace_id
    assert resumed.parent.span_id == first.context.span_id
    assert resumed.attributes["gxp.workflow.resumed_from"] == first.attributes["gxp.workflow.run_id"]
    assert resumed.attributes["gxp.workflow.run_id"] != first.attributes["gxp.workflow.run_id"]
    assert resumed.attributes["enduser.id"] == "author"  # carried, as the resumer set none
    decide = telemetry.span_named("HumanInTheLoop.decide")
    assert decide.context.trace_id == first.context.trace_id


def test_the_resumers_own_attribution_wins_for_its_actions(telemetry):
    data = json.loads(json.dumps(asyncio.run(run_until_approval_requested())))
    contextvars.Context().run(asyncio.run, resume(data, reviewer="qa.reviewer"))
    (answer,) = [r for r in telemetry.log_records() if r.event_name == "Decision"]
    assert answer.attributes["enduser.id"] == "qa.reviewer"


def test_from_dict_without_the_carrier_still_works(telemetry):
    data = json.loads(json.dumps(asyncio.run(run_until_approval_requested())))
    data.pop("gxp_otel")
    result = contextvars.Context().run(asyncio.run, resume(data, reviewer=None))
    assert result == {"approved": True}
    runs = [s for s in telemetry.finished_spans() if s.name == "HumanInTheLoop.run"]
    assert len({s.context.trace_id for s in runs}) == 2


async def finished_run_context() -> tuple[dict, str]:
    with attribution(user_id="turn1.user", correlation_id="CC-1"):
        handler = HumanInTheLoop(timeout=10).run()
    async for ev in handler.stream_events():
        if isinstance(ev, Approval):
            handler.ctx.send_event(Decision(response="y", approved=True))
    await handler
    return handler.ctx.to_dict(), str(handler.run_id)


def test_a_new_run_from_a_finished_runs_context_is_its_own_trace_linked_and_inherits_no_identity(telemetry):
    data, first_run = asyncio.run(finished_run_context())
    data = json.loads(json.dumps(data))
    assert data["gxp_otel"]["state"] == "finished"

    async def second_turn():
        workflow = HumanInTheLoop(timeout=10)
        handler = workflow.run(ctx=Context.from_dict(workflow, data))
        handler.ctx.send_event(Decision(response="y", approved=False))
        return await handler

    contextvars.Context().run(asyncio.run, second_turn())
    first, second = sorted((s for s in telemetry.finished_spans() if s.name == "HumanInTheLoop.run"),
                           key=lambda s: s.start_time)
    assert second.context.trace_id != first.context.trace_id
    assert second.parent is None
    assert [link.context.span_id for link in second.links] == [first.context.span_id]
    assert second.links[0].attributes["gxp.link.type"] == "previous-run"
    assert second.attributes["gxp.workflow.continues"] == first_run
    assert "gxp.workflow.resumed_from" not in second.attributes
    assert "enduser.id" not in second.attributes and "gxp.correlation.id" not in second.attributes
