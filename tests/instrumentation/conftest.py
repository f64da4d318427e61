from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gxp_otel.instrumentation import GxpWorkflowInstrumentor
from instr_helpers import Telemetry


def make_telemetry(**instrument_kwargs) -> Telemetry:
    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    kwargs = {"tracer_provider": tracer_provider, "logger_provider": logger_provider, **instrument_kwargs}
    GxpWorkflowInstrumentor().instrument(**kwargs)
    return Telemetry(spans, logs, tracer_provider, logger_provider)


@pytest.fixture
def telemetry():
    """GxpWorkflowInstrumentor on private providers with in-memory exporters (synchronous export)."""
    t = make_telemetry()
    yield t
    GxpWorkflowInstrumentor().uninstrument()


@pytest.fixture
def telemetry_factory():
    """Like `telemetry`, with instrument() keyword arguments of the test's choice."""
    made = []

    def factory(**kwargs):
        made.append(make_telemetry(**kwargs))
        return made[-1]

    yield factory
    if made:
        GxpWorkflowInstrumentor().uninstrument()


@pytest.fixture(autouse=True)
def _quiet_console(monkeypatch):
    monkeypatch.setenv("LOG_CONSOLE", "false")
    yield
    logging.getLogger("gxp_otel.instrumentation").handlers.clear()
