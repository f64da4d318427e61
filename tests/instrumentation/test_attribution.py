"""Attribution reaches every span and log record of a run, and concurrent runs never cross."""

from __future__ import annotations

import asyncio
import contextvars

from opentelemetry import trace

from gxp_otel.attribution import attribution, current_attributes
from instr_helpers import ThreeStep, run_collecting

GXP_KEYS = {"enduser.id": "alice", "gxp.agent.id": "planner", "gxp.correlation.id": "req-1",
            "session.id": "req-1", "gxp.gamp.category": 5, "gxp.risk.level": "high"}


def test_attribution_is_on_every_span_and_log_record_of_the_run(telemetry):
    async def scenario():
        with attribution(user_id="alice", agent_id="planner", correlation_id="req-1", gamp_category=5,
                         risk_level="high"):
            return await run_collecting(ThreeStep(timeout=10), n=1)

    _, run_id, _ = asyncio.run(scenario())
    records = [s.attributes for s in telemetry.finished_spans()] + [r.attributes for r in telemetry.log_records()]
    assert len(records) == 7
    for attributes in records:
        assert {k: attributes.get(k) for k in GXP_KEYS} == GXP_KEYS
        assert attributes["gxp.workflow.run_id"] == run_id


def test_concurrent_runs_under_different_users_never_cross(telemetry):
    async def one(user: str):
        with attribution(user_id=user, correlation_id=f"corr-{user}"):
            return await run_collecting(ThreeStep(timeout=10), n=1, pause=0.05)

    async def both():
        return await asyncio.gather(*(one(u) for u in ("alice", "bob", "carol")))

    results = asyncio.run(both())
    users_by_run = {run_id: user for (_, run_id, _), user in zip(results, ("alice", "bob", "carol"))}
    spans = telemetry.finished_spans()
    runs = [s for s in spans if s.name == "ThreeStep.run"]
    assert len(runs) == 3 and len({s.context.trace_id for s in runs}) == 3
    trace_user = {s.context.trace_id: users_by_run[s.attributes["gxp.workflow.run_id"]] for s in runs}
    for span in spans:
        assert span.attributes["enduser.id"] == trace_user[span.context.trace_id]
        assert users_by_run[span.attributes["gxp.workflow.run_id"]] == span.attributes["enduser.id"]
    logs = telemetry.log_records()
    assert len(logs) == 9
    for log in logs:
        assert log.attributes["enduser.id"] == trace_user[log.trace_id]
        assert log.attributes["gxp.correlation.id"] == f"corr-{trace_user[log.trace_id]}"


def test_nested_blocks_inherit_and_override_and_restore():
    with attribution(user_id="alice", risk_level="low"):
        with attribution(risk_level="high") as inner:
            assert inner == {"enduser.id": "alice", "gxp.risk.level": "high"}
        assert current_attributes() == {"enduser.id": "alice", "gxp.risk.level": "low"}
    assert current_attributes() == {}


def test_attribution_travels_through_the_propagation_context_to_a_fresh_context(telemetry):
    """What another process would do: restore the captured carrier, then start the run span."""
    from gxp_otel.instrumentation.workflow_spans import PropagationSpanHandler

    handler = PropagationSpanHandler()
    tracer = telemetry.tracer_provider.get_tracer("test")
    with attribution(user_id="alice"), tracer.start_as_current_span("caller") as caller:
        carrier = handler.capture_propagation_context()

    def elsewhere():
        handler.restore_propagation_context(carrier)
        with tracer.start_as_current_span("resumed") as resumed:
            return resumed.get_span_context(), dict(current_attributes())

    resumed_ctx, attrs = contextvars.Context().run(elsewhere)
    assert resumed_ctx.trace_id == caller.get_span_context().trace_id
    assert attrs["enduser.id"] == "alice"
    assert trace.get_current_span().get_span_context().is_valid is False


def test_openinference_using_user_session_and_metadata_attribute_the_stream_event_log_records_too(telemetry):
    """13.5: OpenInference's context managers attribute its spans; the stream-event log records of the same run
    must carry the same user and session (ALCOA+ Attributable reads `user.id`)."""
    import asyncio as _asyncio

    from openinference.instrumentation import using_metadata, using_session, using_user

    from instr_helpers import ThreeStep, run_collecting

    async def go():
        with using_user("oi.user"), using_session("oi-session-7"), using_metadata({"batch": "B-7"}):
            return await run_collecting(ThreeStep(timeout=10), n=1)

    _asyncio.run(go())
    records = [r for r in telemetry.log_records() if r.event_name == "Progress"]
    assert len(records) == 3
    for record in records:
        assert record.attributes["user.id"] == "oi.user"
        assert record.attributes["session.id"] == "oi-session-7"
        assert '"batch"' in record.attributes["metadata"]
    assert telemetry.span_named("ThreeStep.run").attributes["user.id"] == "oi.user"


def test_context_attributes_read_what_openinference_reads_from_the_context():
    """`context_attributes` (one context lookup) yields exactly `get_attributes_from_context`'s pairs, in order."""
    from openinference.instrumentation import get_attributes_from_context, using_attributes

    from gxp_otel.instrumentation.attribution_processors import context_attributes

    assert context_attributes() == list(get_attributes_from_context()) == []
    with using_attributes(session_id="s-1", user_id="u-1", metadata={"batch": "B-7"}, tags=["a", "b"],
                          prompt_template="t {x}", prompt_template_version="v2",
                          prompt_template_variables={"x": "1"}):
        expected = list(get_attributes_from_context())
        assert len(expected) == 7
        assert context_attributes() == expected


def test_a_log_record_emitted_while_a_stamped_one_is_being_emitted_is_still_attributed():
    """The log processors skip only the very record the stream-event recorder stamped; any other record (one a
    processor logs while that record passes, say) gets the acting agent and the attribution as ever."""
    from opentelemetry._logs import LogRecord
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    from gxp_otel.instrumentation.attribution_processors import AttributionLogRecordProcessor, emit_stamped

    provider = LoggerProvider()
    exporter = InMemoryLogRecordExporter()
    logger = provider.get_logger("x")
    inner_emitted = []

    class EmitsAnother(SimpleLogRecordProcessor):
        def on_emit(self, log_record):
            if not inner_emitted:
                inner_emitted.append(True)
                logger.emit(LogRecord(body="inner", attributes={}))
            super().on_emit(log_record)

    provider.add_log_record_processor(AttributionLogRecordProcessor())
    provider.add_log_record_processor(EmitsAnother(exporter))
    with attribution(user_id="qa.reviewer"):
        emit_stamped(logger, LogRecord(body="stamped", attributes={"k": "v"}))
        logger.emit(LogRecord(body="plain", attributes={}))
    records = {r.log_record.body: r.log_record.attributes for r in exporter.get_finished_logs()}
    assert dict(records["stamped"]) == {"k": "v"}  # left as the recorder made it
    assert records["inner"]["enduser.id"] == "qa.reviewer"
    assert records["plain"]["enduser.id"] == "qa.reviewer"
