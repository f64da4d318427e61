"""gxp_otel.instrument(): providers, parallel export to OTLP and the audit trail, idempotence, restore."""

from __future__ import annotations

import asyncio
import socket

import pytest
from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gxp_otel import setup as gxp_setup
from gxp_otel.attribution import attribution
from instr_helpers import ThreeStep, run_collecting, trail_records


@pytest.fixture
def handle_factory():
    handles = []

    def make(**kwargs):
        kwargs.setdefault("otlp_endpoint", None)
        handles.append(gxp_setup.instrument(**kwargs))
        return handles[-1]

    yield make
    for h in handles:
        h.shutdown()


def test_after_instrument_the_globals_are_the_sdk_providers_in_use_and_shutdown_restores(handle_factory):
    before_tp, before_lp = trace.get_tracer_provider(), _logs.get_logger_provider()
    handle = handle_factory()
    assert isinstance(trace.get_tracer_provider(), TracerProvider)
    assert trace.get_tracer_provider() is handle.tracer_provider
    assert isinstance(_logs.get_logger_provider(), LoggerProvider)
    assert _logs.get_logger_provider() is handle.logger_provider
    assert handle.tracer_provider.resource.attributes["openinference.project.name"]
    handle.shutdown()
    handle.shutdown()  # idempotent
    assert trace.get_tracer_provider() is before_tp and _logs.get_logger_provider() is before_lp


def test_instrument_twice_returns_the_live_handle(handle_factory):
    first = handle_factory(service_name="one")
    assert gxp_setup.instrument(service_name="two") is first
    assert first.tracer_provider.resource.attributes["service.name"] == "one"


def test_an_applications_sdk_provider_is_reused_not_replaced(handle_factory):
    app_spans = InMemorySpanExporter()
    app_provider = TracerProvider()
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    app_provider.add_span_processor(SimpleSpanProcessor(app_spans))
    saved = (trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE)
    trace._TRACER_PROVIDER = app_provider
    try:
        handle = handle_factory()
        assert handle.tracer_provider is app_provider
        asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
        assert len(app_spans.get_finished_spans()) == 4
        handle.shutdown()
        assert trace.get_tracer_provider() is app_provider
    finally:
        trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = saved


def test_workflow_into_the_real_audit_trail_verifies_and_counts_match(handle_factory, tmp_path):
    from gxp_otel.audit.verifier import verify_trail

    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    handle = handle_factory(audit_dir=tmp_path, span_exporters=[spans], log_exporters=[logs], batch=False,
                            user_id="default.user")

    async def scenario():
        with attribution(user_id="alice", correlation_id="req-7", gamp_category=4, risk_level="medium"):
            return await run_collecting(ThreeStep(timeout=10), n=1)

    _, run_id, _ = asyncio.run(scenario())
    assert handle.force_flush()
    handle.shutdown()
    report = verify_trail(tmp_path)
    assert report.ok, report.problems
    records = trail_records(tmp_path)
    span_records = [r for r in records if r["kind"] == "span"]
    log_records = [r for r in records if r["kind"] == "log"]
    assert len(span_records) == len(spans.get_finished_spans()) == 4
    assert len(log_records) == len(logs.get_finished_logs()) == 3
    for record in span_records + log_records:
        assert record["body"]["gxp"] == {"user_id": "alice", "correlation_id": "req-7", "gamp_category": "4",
                                         "risk_level": "medium", "run_id": run_id}
    assert sorted(r["body"]["event_name"] for r in log_records) == ["Progress"] * 3


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_phoenix_down_does_not_break_the_run_nor_the_trail(handle_factory, tmp_path, monkeypatch):
    from gxp_otel.audit.verifier import verify_trail

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    handle = handle_factory(audit_dir=tmp_path, otlp_endpoint=f"http://127.0.0.1:{_closed_port()}")
    result, _, _ = asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    assert result == {"n": 4}
    handle.force_flush(timeout_millis=5000)
    handle.shutdown()
    assert verify_trail(tmp_path).ok
    assert len([r for r in trail_records(tmp_path) if r["kind"] == "span"]) == 4


class ExplodingExporter(SpanExporter):
    def export(self, spans):
        raise RuntimeError("exporter bug")

    def shutdown(self):
        pass


def test_an_exporter_that_raises_never_reaches_user_code(handle_factory):
    spans = InMemorySpanExporter()
    handle_factory(span_exporters=[ExplodingExporter(), spans], batch=False)
    result, _, _ = asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    assert result == {"n": 4} and len(spans.get_finished_spans()) == 4


def test_statistics_and_metrics_count_events(handle_factory):
    reader = InMemoryMetricReader()
    handle = handle_factory(metric_readers=[reader])
    assert metrics.get_meter_provider() is handle.meter_provider
    asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    stats = handle.statistics()
    assert stats["events_processed"] == 6 and stats["events_by_type"] == {"Progress": 6}
    assert stats["errors"] == 0 and stats["runs"] == {"started": 2, "completed": 2}
    assert stats["events_per_second"] > 0
    points = {m.name: sum(p.value for p in m.data.data_points)
              for rm in reader.get_metrics_data().resource_metrics
              for sm in rm.scope_metrics for m in sm.metrics}
    assert points["gxp.workflow.events"] == 6 and points["gxp.workflow.runs"] == 4


def test_bridged_pharma_logger_and_mixin_events_reach_the_logs(handle_factory):
    import logging

    from gxp_otel.integration import EventLoggingMixin
    from workflows import Context, Workflow, step
    from workflows.events import StartEvent, StopEvent

    class Mixed(Workflow, EventLoggingMixin):
        @step
        async def a(self, ctx: Context, ev: StartEvent) -> StopEvent:
            logging.getLogger("pharma.planning").info("planning started")
            self.log_workflow_event(ctx, "TestPlanningEvent", "plan ready", {"tests": 3})
            self.log_agent_interaction(ctx, "planner-agent", {"q": 1}, {"a": 2}, success=True)
            return StopEvent(result="ok")

    logs = InMemoryLogRecordExporter()
    handle_factory(log_exporters=[logs], batch=False)
    asyncio.run(run_collecting(Mixed(timeout=10)))
    records = [d.log_record for d in logs.get_finished_logs()]
    by_name = {r.event_name or r.body: r for r in records}
    assert set(by_name) == {"planning started", "TestPlanningEvent", "AgentInteractionEvent"}
    assert by_name["TestPlanningEvent"].body["payload"] == {"tests": 3}
    assert by_name["AgentInteractionEvent"].attributes["gxp.agent.id"] == "planner-agent"
    assert "gxp.agent.id" not in by_name["TestPlanningEvent"].attributes
    assert len({r.span_id for r in records}) == 1


def test_console_lines_go_to_category_loggers_and_are_not_logged_twice(handle_factory, caplog, monkeypatch):
    import logging

    from gxp_otel.integration import EventLoggingMixin
    from workflows import Context, Workflow, step
    from workflows.events import StartEvent, StopEvent

    class Categorising(Workflow, EventLoggingMixin):
        @step
        async def a(self, ctx: Context, ev: StartEvent) -> StopEvent:
            self.log_workflow_event(ctx, "GAMPCategorizationEvent", "category chosen", {"category": 5})
            self.log_workflow_event(ctx, "ValidationEvent", "validated", {"ok": True})
            return StopEvent(result="ok")

    monkeypatch.setenv("LOG_CONSOLE", "true")
    logs = InMemoryLogRecordExporter()
    handle_factory(log_exporters=[logs], batch=False)
    with caplog.at_level(logging.INFO, logger="pharma"):
        _, run_id, _ = asyncio.run(run_collecting(Categorising(timeout=10)))
    lines = {r.name: r.getMessage() for r in caplog.records if r.name.startswith("pharma.")}
    assert lines == {
        "pharma.categorization": f'GAMPCategorizationEvent run={run_id} step=a category chosen {{"category":5}}',
        "pharma.validation": f'ValidationEvent run={run_id} step=a validated {{"ok":true}}',
    }
    assert sorted(d.log_record.event_name for d in logs.get_finished_logs()) == ["GAMPCategorizationEvent",
                                                                               "ValidationEvent"]


def test_one_switch_keeps_all_content_out_of_the_trail(handle_factory, tmp_path):
    from llama_index.core.llms import MockLLM
    from workflows import Context, Workflow, step
    from workflows.events import StartEvent, StopEvent

    class Secretive(Workflow):
        @step
        async def a(self, ctx: Context, ev: StartEvent) -> StopEvent:
            ctx.write_event_to_stream(Progress(step=ev.patient, n=1))
            await MockLLM(max_tokens=8).acomplete(f"summarise {ev.patient}")
            return StopEvent(result={"patient": ev.patient})

    from instr_helpers import Progress

    handle = handle_factory(audit_dir=tmp_path, capture_content=False, batch=False)
    asyncio.run(run_collecting(Secretive(timeout=10), patient="PATIENT-0042"))
    handle.shutdown()
    text = "".join(path.read_text() for path in tmp_path.glob("audit-*.jsonl"))
    assert "PATIENT-0042" not in text
    assert "__REDACTED__" in text
    assert '"gxp.input.sha256"' in text


def test_event_lines_can_also_go_to_a_rotating_file(handle_factory, tmp_path, monkeypatch):
    from gxp_otel.config import GxpOtelConfig

    monkeypatch.setenv("LOG_CONSOLE", "false")
    config = GxpOtelConfig.load(environ={"LOG_EVENT_FILE": "true", "LOG_DIRECTORY": str(tmp_path / "events")})
    handle = handle_factory(config=config, batch=False)
    _, run_id, _ = asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    handle.shutdown()
    lines = (tmp_path / "events" / "pharma_events.log").read_text().splitlines()
    assert len(lines) == 3
    assert all(f"Progress run={run_id}" in line for line in lines)


def test_signing_key_makes_signed_checkpoints_that_verify_under_the_trusted_key(handle_factory, tmp_path):
    from gxp_otel.audit.signing import generate_key_pem
    from gxp_otel.audit.verifier import verify_trail

    pem, signer = generate_key_pem()
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(pem)
    handle = handle_factory(audit_dir=tmp_path / "trail", signing_key=str(key_file))
    asyncio.run(run_collecting(ThreeStep(timeout=10), n=1))
    handle.shutdown()
    report = verify_trail(tmp_path / "trail", trusted_keys=[signer.public_key_hex])
    assert report.ok, report.problems
    assert sum(s.signed_checkpoints for s in report.streams) >= 1


def test_the_trail_is_fed_by_gap_recording_batch_processors(handle_factory, tmp_path):
    from gxp_otel.audit.processors import ComplianceBatchLogRecordProcessor, ComplianceBatchSpanProcessor

    handle = handle_factory(audit_dir=tmp_path)
    span_processors = handle.tracer_provider._active_span_processor._span_processors
    log_processors = handle.logger_provider._multi_log_record_processor._log_record_processors
    assert sum(isinstance(p, ComplianceBatchSpanProcessor) for p in span_processors) == 1
    assert sum(isinstance(p, ComplianceBatchLogRecordProcessor) for p in log_processors) == 1
