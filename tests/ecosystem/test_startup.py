"""Issue 13.3 and 13.2: fail-closed start-up, and zero-code that attaches the trail to the application's provider.

Every case runs a real application under `opentelemetry-instrument` (or in code) in a subprocess.
"""

from __future__ import annotations

import pytest

from apps import clean_env, report_of, run_app
from gxp_otel.audit.verifier import verify_trail
from otlp_sink import OtlpSink
from trail_helpers import records

PLAIN = """
    print("APP STARTED", flush=True)
    results = [asyncio.run(run_once(i)) for i in range(2)]
    report(results=results)
"""


def _refused(done, setting):
    assert done.returncode == 78, (done.returncode, done.stderr)
    assert "APP STARTED" not in done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gxp-otel: not starting: ") and setting in lines[0], lines


def test_zero_code_with_the_audit_dir_on_a_file_refuses_to_start(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    done = run_app(tmp_path, PLAIN, clean_env(GXP_OTEL_AUDIT_DIR=str(blocker), OTEL_TRACES_EXPORTER="none"),
                   zero_code=True)
    _refused(done, "$GXP_OTEL_AUDIT_DIR")


@pytest.mark.parametrize(("variable", "value"), [("GXP_OTEL_FSYNC", "sometimes"), ("LOG_LEVEL", "LOUD"),
                                                 ("AUDIT_RETENTION_DAYS", "forever"),
                                                 ("GXP_OTEL_SIGNING_KEY", "/nonexistent/writer.pem")])
def test_zero_code_with_a_bad_setting_refuses_to_start_naming_it(tmp_path, variable, value):
    env = clean_env(GXP_OTEL_AUDIT_DIR=str(tmp_path / "trail"), OTEL_TRACES_EXPORTER="none", **{variable: value})
    _refused(run_app(tmp_path, PLAIN, env, zero_code=True), f"${variable}")
    assert not (tmp_path / "trail").exists() or not any((tmp_path / "trail").iterdir())


def test_zero_code_without_an_audit_dir_refuses_to_start(tmp_path):
    _refused(run_app(tmp_path, PLAIN, clean_env(OTEL_TRACES_EXPORTER="none"), zero_code=True), "GXP_OTEL_AUDIT_DIR")


def test_fail_open_opt_out_runs_the_app_without_gxp_otel_and_says_so(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = clean_env(GXP_OTEL_AUDIT_DIR=str(blocker), OTEL_TRACES_EXPORTER="none", GXP_OTEL_FAIL_CLOSED="false")
    done = run_app(tmp_path, PLAIN, env, zero_code=True)
    assert done.returncode == 0, done.stderr
    assert report_of(done)["results"] == [0, 2]
    assert "Traceback" not in done.stderr
    assert "gxp-otel is not running (GXP_OTEL_FAIL_CLOSED=false)" in done.stderr and "GXP_OTEL_AUDIT_DIR" in done.stderr


def test_in_code_audit_dir_on_a_file_raises_the_configuration_error_naming_the_field(tmp_path):
    from gxp_otel.config import ConfigError
    from gxp_otel.setup import active_handle, instrument

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=r"^audit_dir: .*a-file is not a directory"):
        instrument(audit_dir=blocker, otlp_endpoint=None)
    assert active_handle() is None  # nothing half set up


APP_OWN_PROVIDER = """
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=os.environ["APP_OTLP"])))
    trace.set_tracer_provider(provider)
    results = [asyncio.run(run_once(i)) for i in range(2)]
    provider.shutdown()
    from gxp_otel.setup import active_handle
    handle = active_handle()
    report(results=results, own_global=trace.get_tracer_provider() is provider,
           handle_provider_is_app=handle.tracer_provider is provider)
    handle.shutdown()
"""


def test_zero_code_attaches_the_trail_to_the_provider_the_application_installs(tmp_path):
    trail = tmp_path / "trail"
    with OtlpSink() as sink:
        env = clean_env(GXP_OTEL_AUDIT_DIR=str(trail), OTEL_TRACES_EXPORTER="none", APP_OTLP=f"{sink.url}/app")
        done = run_app(tmp_path, APP_OWN_PROVIDER, env, zero_code=True)
        app_spans = sink.spans("/app")
    assert done.returncode == 0, done.stderr
    report = report_of(done)
    assert report == {"results": [0, 2], "own_global": True, "handle_provider_is_app": True}
    assert verify_trail(trail).ok
    trail_spans = [r["body"] for r in records(trail) if r["kind"] == "span"]
    assert sorted(s["name"] for s in trail_spans) == ["Plain.only", "Plain.only", "Plain.run", "Plain.run"]
    assert sorted(s.span_id.hex() for s in app_spans) == sorted(s["span_id"] for s in trail_spans)


PHOENIX_REGISTER = """
    from phoenix.otel import register
    import gxp_otel
    register(endpoint=os.environ["PHOENIX_SINK"] + "/v1/traces", project_name="regulated", batch=False,
             set_global_tracer_provider=True, verbose=False)
    handle = gxp_otel.instrument(audit_dir=os.environ["TRAIL"])
    results = [asyncio.run(run_once(i)) for i in range(2)]
    handle.shutdown()
    report(results=results)
"""


def test_phoenix_register_then_instrument_keeps_phoenix_exporter_and_adds_the_trail(tmp_path):
    trail = tmp_path / "trail"
    with OtlpSink() as sink:
        done = run_app(tmp_path, PHOENIX_REGISTER, clean_env(PHOENIX_SINK=sink.url, TRAIL=str(trail)))
        phoenix_spans = sink.spans()
        resources = [r.resource_attributes() for r in sink.requests("/v1/traces")]
    assert done.returncode == 0, done.stderr
    assert report_of(done)["results"] == [0, 2]
    trail_spans = [r["body"] for r in records(trail) if r["kind"] == "span"]
    assert len(trail_spans) == 4 and verify_trail(trail).ok
    assert sorted(s.span_id.hex() for s in phoenix_spans) == sorted(s["span_id"] for s in trail_spans)
    assert all(r.get("openinference.project.name") == "regulated" for r in resources)


def test_zero_code_auto_setup_false_is_refused_instead_of_dropping_the_trail(tmp_path):
    env = clean_env(GXP_OTEL_AUDIT_DIR=str(tmp_path / "trail"), OTEL_TRACES_EXPORTER="none", GXP_OTEL_AUTO_SETUP="false")
    _refused(run_app(tmp_path, PLAIN, env, zero_code=True), "$GXP_OTEL_AUTO_SETUP=false")


ZERO_CODE_PHOENIX_REGISTER = """
    from phoenix.otel import register
    from opentelemetry import trace
    provider = register(endpoint=os.environ["PHOENIX_SINK"] + "/v1/traces", project_name="regulated", batch=False,
                        set_global_tracer_provider=True, verbose=False)
    results = [asyncio.run(run_once(i)) for i in range(2)]
    from gxp_otel.setup import active_handle
    handle = active_handle()
    report(results=results, global_is_phoenix=trace.get_tracer_provider() is provider,
           trail_on_phoenix=handle.tracer_provider is provider)
    handle.shutdown()
"""


def test_zero_code_then_phoenix_register_keeps_phoenix_export_and_the_trail(tmp_path):
    trail = tmp_path / "trail"
    with OtlpSink() as sink:
        env = clean_env(GXP_OTEL_AUDIT_DIR=str(trail), PHOENIX_SINK=sink.url)
        done = run_app(tmp_path, ZERO_CODE_PHOENIX_REGISTER, env, zero_code=True)
        phoenix_spans = sink.spans()
    assert done.returncode == 0, done.stderr
    assert report_of(done) == {"results": [0, 2], "global_is_phoenix": True, "trail_on_phoenix": True}
    trail_spans = [r["body"] for r in records(trail) if r["kind"] == "span"]
    assert len(trail_spans) == 4 and verify_trail(trail).ok
    assert sorted(s.span_id.hex() for s in phoenix_spans) == sorted(s["span_id"] for s in trail_spans)
