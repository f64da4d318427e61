"""Issue 12.1: the audit trail is complete whatever the sampler; sampling thins only the OTLP/Phoenix export.

Each case is a real subprocess (the sampler comes from the environment, as in production) exporting to a real
loopback OTLP/HTTP receiver, with the trail in a real directory that `verify_trail` then checks.
"""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased

from apps import clean_env, report_of, run_app
from gxp_otel.audit.verifier import verify_trail
from trail_helpers import records as trail_records
from otlp_sink import OtlpSink

RUNS = """
    import gxp_otel
    handle = gxp_otel.instrument(audit_dir=sys.argv[1])
    results = [asyncio.run(run_once(i)) for i in range(int(sys.argv[2]))]
    handle.shutdown()
    report(results=results, statistics=handle.statistics())
"""


def _trail_spans(trail):
    return [r["body"] for r in trail_records(trail) if r["kind"] == "span"]


def _run(tmp_path, sink, runs, **env):
    trail = tmp_path / "trail"
    body = RUNS.replace("sys.argv[1]", repr(str(trail))).replace("int(sys.argv[2])", str(runs))
    done = run_app(tmp_path, body, clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=sink.url, **env))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    report = report_of(done)
    assert report["results"] == [2 * i for i in range(runs)]
    assert report["statistics"]["errors"] == 0, report["statistics"]["errors_by_kind"]
    assert verify_trail(trail).ok
    return trail


@pytest.mark.parametrize("sampler", [{"OTEL_TRACES_SAMPLER": "always_off"},
                                     {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"},
                                     {"OTEL_TRACES_SAMPLER": "parentbased_always_off"}])
def test_a_sampler_that_drops_everything_still_leaves_every_span_in_the_trail_and_none_in_otlp(tmp_path, sampler):
    with OtlpSink() as sink:
        trail = _run(tmp_path, sink, 3, **sampler)
        exported = sink.spans()
    spans = _trail_spans(trail)
    assert sorted(s["name"] for s in spans) == ["Plain.only"] * 3 + ["Plain.run"] * 3
    assert len([r for r in trail_records(trail) if r["kind"] == "log"]) == 3
    assert exported == []


def test_traceidratio_thins_otlp_by_trace_id_while_the_trail_keeps_all_runs(tmp_path):
    with OtlpSink() as sink:
        trail = _run(tmp_path, sink, 12, OTEL_TRACES_SAMPLER="traceidratio", OTEL_TRACES_SAMPLER_ARG="0.5")
        exported = sink.spans()
    spans = _trail_spans(trail)
    assert len([s for s in spans if s["name"] == "Plain.run"]) == 12
    ratio = TraceIdRatioBased(0.5)
    trace_ids = {s["trace_id"] for s in spans}
    expected = {t for t in trace_ids if ratio.should_sample(None, int(t, 16), "x").decision is Decision.RECORD_AND_SAMPLE}
    assert {s.trace_id.hex() for s in exported} == expected  # exactly the sampler's choice, no more, no less
    assert len(exported) == 2 * len(expected)


def test_a_request_with_an_unsampled_traceparent_is_recorded_in_the_trail_under_that_trace(tmp_path):
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    body = f"""
        import gxp_otel
        from opentelemetry import context, propagate
        handle = gxp_otel.instrument(audit_dir={str(tmp_path / "trail")!r})
        token = context.attach(propagate.extract({{"traceparent": "00-{trace_id}-{parent_id}-00"}}))
        try:
            results = [asyncio.run(run_once(1))]
        finally:
            context.detach(token)
        handle.shutdown()
        report(results=results, statistics=handle.statistics())
    """
    with OtlpSink() as sink:
        done = run_app(tmp_path, body, clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=sink.url))
        exported = sink.spans()
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert report_of(done)["statistics"]["errors"] == 0
    assert verify_trail(tmp_path / "trail").ok
    spans = {s["name"]: s for s in _trail_spans(tmp_path / "trail")}
    assert set(spans) == {"Plain.run", "Plain.only"}
    assert {s["trace_id"] for s in spans.values()} == {trace_id}
    assert spans["Plain.run"]["parent_span_id"] == parent_id
    assert exported == []


def test_always_on_exports_the_same_spans_the_trail_holds(tmp_path):
    with OtlpSink() as sink:
        trail = _run(tmp_path, sink, 2, OTEL_TRACES_SAMPLER="always_on")
        exported = sink.spans()
    assert sorted(s.span_id.hex() for s in exported) == sorted(s["span_id"] for s in _trail_spans(trail))
