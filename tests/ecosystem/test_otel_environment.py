"""Issue 13.4 and 13.5 (export side): `OTEL_*` as the OpenTelemetry specification defines them, Phoenix's own
variables, checked against real loopback OTLP receivers (HTTP and gRPC) from a real subprocess."""

from __future__ import annotations

import pytest

from apps import clean_env, report_of, run_app
from gxp_otel.audit.verifier import verify_trail
from otlp_sink import GrpcOtlpSink, OtlpSink
from trail_helpers import records

TWO_RUNS = """
    import gxp_otel
    handle = gxp_otel.instrument(audit_dir=os.environ["TRAIL"])
    results = [asyncio.run(run_once(i)) for i in range(2)]
    handle.shutdown()
    report(results=results, statistics=handle.statistics())
"""


def _run(tmp_path, body=TWO_RUNS, **env):
    done = run_app(tmp_path, body, clean_env(TRAIL=str(tmp_path / "trail"), **env))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    report = report_of(done)
    assert report["results"] == [0, 2]
    if "statistics" in report:
        assert report["statistics"]["errors"] == 0, report["statistics"]["errors_by_kind"]
    assert verify_trail(tmp_path / "trail").ok
    return done, report


def _trail_spans(tmp_path):
    return [r["body"] for r in records(tmp_path / "trail") if r["kind"] == "span"]


def test_base_endpoint_with_a_path_posts_to_that_path_plus_the_signal_path(tmp_path):
    with OtlpSink() as sink:
        _run(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=f"{sink.url}/otlp")
        paths = {r.path for r in sink.received}
        exported = sink.spans("/otlp/v1/traces")
        logs = [rec for r in sink.requests("/otlp/v1/logs") for rec in r.log_records()]
    assert paths == {"/otlp/v1/traces", "/otlp/v1/logs"}  # the generic endpoint is for every signal
    assert len(exported) == len(_trail_spans(tmp_path)) == 4
    assert len(logs) == 2


def test_signal_specific_endpoint_is_used_as_is(tmp_path):
    with OtlpSink() as sink:
        _run(tmp_path, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{sink.url}/custom/ingest",
             OTEL_EXPORTER_OTLP_ENDPOINT=f"{sink.url}/base", OTEL_LOGS_EXPORTER="none")
        assert {r.path for r in sink.received} == {"/custom/ingest"}
        assert len(sink.spans("/custom/ingest")) == 4


def test_service_name_from_resource_attributes_is_kept(tmp_path):
    with OtlpSink() as sink:
        _run(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=sink.url,
             OTEL_RESOURCE_ATTRIBUTES="service.name=lims,deployment.environment=qa")
        resources = [r.resource_attributes() for r in sink.requests("/v1/traces")]
    assert resources and all(r["service.name"] == "lims" and r["deployment.environment"] == "qa" for r in resources)
    assert all(r["openinference.project.name"] == "lims" for r in resources)


def test_batch_span_processor_variables_are_read_by_the_sdk(tmp_path):
    with OtlpSink() as sink:
        _run(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=sink.url, OTEL_BSP_MAX_EXPORT_BATCH_SIZE="1")
        sizes = [len(r.spans()) for r in sink.requests("/v1/traces")]
    assert sizes == [1, 1, 1, 1]


def test_grpc_protocol_exports_over_grpc(tmp_path):
    with GrpcOtlpSink() as sink:
        _run(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=sink.url, OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
             OTEL_LOGS_EXPORTER="none")  # this receiver implements the trace service only
        exported = sink.spans()
    assert sorted(s.span_id.hex() for s in exported) == sorted(s["span_id"] for s in _trail_spans(tmp_path))


def test_console_traces_exporter_prints_spans_and_sends_nothing(tmp_path):
    with OtlpSink() as sink:
        done, _ = _run(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=sink.url, OTEL_TRACES_EXPORTER="console")
        assert sink.requests("/v1/traces") == []
    assert done.stdout.count('"name": "Plain.run"') == 2


def test_logs_go_over_otlp_when_asked_and_never_with_logs_exporter_none(tmp_path):
    with OtlpSink() as sink:
        (tmp_path / "a").mkdir()
        _run(tmp_path / "a", PHOENIX_COLLECTOR_ENDPOINT=sink.url, OTEL_LOGS_EXPORTER="otlp",
             OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=f"{sink.url}/v1/logs")
        logs = [rec for r in sink.requests("/v1/logs") for rec in r.log_records()]
    assert len(logs) == 2
    with OtlpSink() as sink:
        (tmp_path / "b").mkdir()
        _run(tmp_path / "b", OTEL_EXPORTER_OTLP_ENDPOINT=sink.url, OTEL_LOGS_EXPORTER="none",
             OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=f"{sink.url}/v1/logs")
        assert sink.requests("/v1/logs") == []
    assert len([r for r in records(tmp_path / "b" / "trail") if r["kind"] == "log"]) == 2  # the trail still has them


def test_traces_exporter_none_wins_over_instrument_config(tmp_path):
    body = """
        import gxp_otel
        from gxp_otel.config import GxpOtelConfig
        handle = gxp_otel.instrument(config=GxpOtelConfig(otlp_endpoint=os.environ["SINK"]),
                                     audit_dir=os.environ["TRAIL"])
        results = [asyncio.run(run_once(i)) for i in range(2)]
        handle.shutdown()
        report(results=results)
    """
    with OtlpSink() as sink:
        _run(tmp_path, body, SINK=sink.url, OTEL_TRACES_EXPORTER="none")
        assert sink.received == []
    assert len(_trail_spans(tmp_path)) == 4


def test_phoenix_api_key_and_client_headers_are_sent_to_phoenix(tmp_path):
    with OtlpSink() as sink:
        _run(tmp_path, PHOENIX_COLLECTOR_ENDPOINT=sink.url, PHOENIX_API_KEY="key-123",
             PHOENIX_CLIENT_HEADERS="x-tenant=qa,x-note=a%20b")
        requests = sink.requests("/v1/traces")
    assert requests
    for request in requests:
        assert request.headers["authorization"] == "Bearer key-123"
        assert request.headers["x-tenant"] == "qa" and request.headers["x-note"] == "a b"


@pytest.mark.parametrize(("env", "setting"), [({"OTEL_TRACES_EXPORTER": "zipkin"}, "$OTEL_TRACES_EXPORTER"),
                                              ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
                                               "$OTEL_EXPORTER_OTLP_PROTOCOL")])
def test_an_unsupported_exporter_setting_is_a_configuration_error_naming_it(tmp_path, env, setting):
    body = """
        import gxp_otel
        from gxp_otel.config import ConfigError
        try:
            gxp_otel.instrument(audit_dir=os.environ["TRAIL"])
        except ConfigError as exc:
            report(error=str(exc))
    """
    done = run_app(tmp_path, body, clean_env(TRAIL=str(tmp_path / "trail"), **env))
    assert report_of(done)["error"].startswith(setting)


def test_tamper_evident_without_a_key_warns_that_checkpoints_are_unsigned(tmp_path):
    done, _ = _run(tmp_path, OTEL_TRACES_EXPORTER="none", ENABLE_TAMPER_EVIDENT="true")
    assert "ENABLE_TAMPER_EVIDENT=true but no signing key" in done.stderr and "unsigned" in done.stderr
