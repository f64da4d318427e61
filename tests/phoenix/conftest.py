"""One real Phoenix server for every real-server test of the session, on free loopback ports, stopped at the end.

Tests get a :class:`RunningPhoenix`; they must not stop it for good (a test that restarts it starts it again on the
same ports and data directory before it returns).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from gxp_otel.phoenix import PhoenixClient, PhoenixServer, free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# arize-phoenix installs a pytest plugin that claims the marker name ``phoenix`` and would record our marked tests
# as experiment runs on a Phoenix at localhost:6006. The project disables it (``-p no:phoenix``); should it still be
# loaded, keep it offline.
os.environ["PHOENIX_TEST_TRACKING"] = "false"


@dataclass
class RunningPhoenix:
    server: PhoenixServer
    client: PhoenixClient
    url: str

    @staticmethod
    def new_project_name(prefix: str) -> str:
        """A project name no other test (or earlier run on the same data) uses."""
        return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> RunningPhoenix:
    server = PhoenixServer(tmp_path_factory.mktemp("phoenix-data"), http_port=free_port(), grpc_port=free_port())
    server.start(timeout=180)
    pid = server.read_record().pid  # type: ignore[union-attr]
    try:
        yield RunningPhoenix(server, PhoenixClient(server.url), server.url)
    finally:
        server.stop()
        assert not Path(f"/proc/{pid}").exists(), "the session's Phoenix survived stop()"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's OTEL_* settings from redirecting the spans a test sends."""
    for key in list(os.environ):
        if key.startswith("OTEL_"):
            monkeypatch.delenv(key)


def _send_three_level_trace(url: str, project: str) -> tuple[str, dict[str, str]]:
    """Send workflow.run > step.draft (two stream events) > llm.call over OTLP/HTTP; return trace id, span ids by name."""
    provider = TracerProvider(resource=Resource.create({"service.name": "ingest-test", "openinference.project.name": project}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=5)))
    tracer = provider.get_tracer("gxp-otel-tests")
    with tracer.start_as_current_span("workflow.run", attributes={"gxp.workflow.run_id": "run-1", "openinference.span.kind": "CHAIN"}) as root:
        with tracer.start_as_current_span("step.draft") as step:
            step.add_event("stream.token", {"text": "Hel"})
            step.add_event("stream.token", {"text": "lo"})
            with tracer.start_as_current_span("llm.call", attributes={"llm.model_name": "fake-llm", "llm.token_count.total": 42}) as llm:
                pass
    provider.force_flush()
    provider.shutdown()
    ids = {s.name: format(s.get_span_context().span_id, "016x") for s in (root, step, llm)}  # type: ignore[attr-defined]
    return format(root.get_span_context().trace_id, "032x"), ids


@pytest.fixture
def send_sample_trace():
    """``send(url, project) -> (trace_id, {span name: span id})``, using the plain OTel SDK and OTLP/HTTP exporter."""
    return _send_three_level_trace
