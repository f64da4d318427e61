"""Regenerates tests/vectors/ from the definitions below: golden vectors (inputs -> exact files) and negative
vectors (tampered trails -> exact problems). Run: .venv/bin/python tests/vectors/make_vectors.py

Expected outputs come from the Python writer and verifier; review the diff of a regeneration like code.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from vector_runner import run_steps, trail_files  # noqa: E402

import tamper  # noqa: E402

SEED_A = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"  # RFC 8032 test 1 secret key
SEED_B = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"  # RFC 8032 test 2 secret key
TRACE = "5b8efff798038103d269b633813fc60c"
T0 = 1764000000000000000  # 2025-11-24T16:00:00Z


def writer(stream="vec.0", seed="", **extra):
    params = {
        "stream": stream,
        "writer": "gxp-otel-vector/1",
        "host": "vector-host",
        "pid": "4242",
        "config_fingerprint": "c0ffee" + "0" * 58,
        "retention_days": "2555",
        "signing_key_seed": seed,
        "rotate_bytes": "50000000",
        "rotate_daily": "false",
    }
    params.update(extra)
    return params


def kv(key, value):
    return {"key": key, "value": value}


def s(text):
    return {"stringValue": text}


RESOURCE = {"attributes": [kv("service.name", s("pharma-test-generation")), kv("enduser.id", s("qa.lead@example.com"))]}


def span(n, name="step", parent="", attrs=(), events=(), links=(), status=None, kind=1):
    body = {
        "traceId": TRACE,
        "spanId": f"{n:016x}",
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(T0 + n * 1000),
        "endTimeUnixNano": str(T0 + n * 1000 + 500),
        "attributes": list(attrs),
        "events": list(events),
        "links": list(links),
        "status": status or {},
    }
    if parent:
        body["parentSpanId"] = parent
    return body


def spans_step(*items, resource=RESOURCE, scope=None):
    scope = scope or {"name": "gxp_otel.vectors", "version": "1.0"}
    return {"op": "spans", "otlp": {"resourceSpans": [{"resource": resource, "scopeSpans": [
        {"scope": scope, "spans": list(items)}]}]}}


def log(n, body, attrs=(), severity=9, event_name="", trace=True):
    record = {
        "timeUnixNano": str(T0 + n * 1000),
        "observedTimeUnixNano": str(T0 + n * 1000 + 1),
        "severityNumber": severity,
        "severityText": "INFO" if severity == 9 else "",
        "body": body,
        "attributes": list(attrs),
        "flags": 1,
    }
    if trace:
        record["traceId"], record["spanId"] = TRACE, f"{n:016x}"
    if event_name:
        record["eventName"] = event_name
    return record


def logs_step(*records, resource=RESOURCE):
    return {"op": "logs", "otlp": {"resourceLogs": [{"resource": resource, "scopeLogs": [
        {"scope": {"name": "gxp_otel.vectors.logs"}, "logRecords": list(records)}]}]}}


CLOCK = {"start_ns": str(T0 + 5_000_000_000), "step_ns": "1000000"}

GOLDEN = {
    "minimal-span": dict(
        description="One root span with an event and a link; unsigned close checkpoint.",
        writer=writer(),
        steps=[spans_step(span(1, "GAMPCategorizationWorkflow.run", attrs=[kv("gxp.workflow.run_id", s("run-1"))],
                               events=[{"timeUnixNano": str(T0 + 1200), "name": "stream_event",
                                        "attributes": [kv("event.type", s("GAMPCategorizationEvent"))]}],
                               links=[{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
                                       "traceState": "vendor=1"}],
                               status={"code": 1}, kind=2)),
               {"op": "close"}],
    ),
    "signed-checkpoints": dict(
        description="Spans and logs with an explicit signed checkpoint between them and a signed close.",
        writer=writer(seed=SEED_A),
        steps=[spans_step(span(1, "run"), span(2, "step", parent=f"{1:016x}")),
               {"op": "checkpoint", "reason": "interval"},
               logs_step(log(2, s("categorisation started"), event_name="GAMPCategorizationEvent")),
               {"op": "close"}],
    ),
    "typed-values": dict(
        description="Every AnyValue type, edge doubles, int64 limits, escapes, non-ASCII, astral characters.",
        writer=writer(),
        steps=[spans_step(span(1, "typed", attrs=[
            kv("str", s("quote \" backslash \\ slash / newline \n tab \t ctrl \u0001 del \u007f ls \u2028 é 😀")),
            kv("int.max", {"intValue": "9223372036854775807"}),
            kv("int.min", {"intValue": "-9223372036854775808"}),
            kv("bool", {"boolValue": False}),
            kv("double.half", {"doubleValue": 1.5}),
            kv("double.big", {"doubleValue": 1e21}),
            kv("double.small", {"doubleValue": 1e-7}),
            kv("double.tiny", {"doubleValue": 5e-324}),
            kv("double.negzero", {"doubleValue": -0.0}),
            kv("double.nan", {"doubleValue": "NaN"}),
            kv("double.inf", {"doubleValue": "Infinity"}),
            kv("double.ninf", {"doubleValue": "-Infinity"}),
            kv("double.third", {"doubleValue": 0.3333333333333333}),
            kv("array.str", {"arrayValue": {"values": [s("a"), s("b")]}}),
            kv("array.int", {"arrayValue": {"values": [{"intValue": "1"}, {"intValue": "-2"}]}}),
        ])),
               logs_step(log(2, {"kvlistValue": {"values": [
                   kv("nested", {"kvlistValue": {"values": [kv("list", {"arrayValue": {"values": [
                       s("x"), {"intValue": "7"}, {"doubleValue": 2.5}, {"boolValue": True}]}})]}}),
                   kv("bytes", {"bytesValue": "3q2+7w=="}),
                   kv("empty", {}),
                   kv("\ue000 private use", s("sorts after astral in UTF-16")),
                   kv("😀 astral", s("sorts before U+E000 in UTF-16")),
               ]}})),
               {"op": "close"}],
    ),
    "gxp-fields": dict(
        description="GxP fields from span attributes first, then the resource (§5.5).",
        writer=writer(),
        steps=[spans_step(span(1, "agent.step", attrs=[
            kv("gxp.agent.id", s("categorization_agent")), kv("session.id", s("sess-9")),
            kv("gxp.gamp.category", {"intValue": "5"}), kv("gxp.risk.level", s("high")),
            kv("gxp.workflow.run_id", s("run-7")), kv("user.id", s("ignored: enduser.id in resource? no, span first")),
        ])),
               logs_step(log(2, s("approved"), attrs=[kv("gxp.user.id", s("approver-1"))], event_name="HumanApproval")),
               {"op": "close"}],
    ),
    "gap-record": dict(
        description="A loss noted by the writer appears as a gap record before the next data.",
        writer=writer(seed=SEED_A),
        steps=[spans_step(span(1, "before")),
               {"op": "gap", "signal": "spans", "count": "3", "reason": "span queue full",
                "first_time_ns": str(T0 + 4_000_000_000)},
               spans_step(span(2, "after")),
               {"op": "close"}],
    ),
    "rotation": dict(
        description="Size rotation at 4096 bytes: rotation record, rotation checkpoint, chain continues.",
        writer=writer(seed=SEED_A, rotate_bytes="4096"),
        steps=[spans_step(*[span(n, f"step-{n}", attrs=[kv("payload", s("x" * 300))]) for n in range(1, 4)]),
               spans_step(*[span(n, f"step-{n}", attrs=[kv("payload", s("y" * 300))]) for n in range(4, 10)]),
               {"op": "close"}],
    ),
    "restart-clean": dict(
        description="A closed stream reopened: recovery record (clean-restart) and recovery checkpoint.",
        writer=writer(seed=SEED_A),
        steps=[spans_step(span(1, "first-session")), {"op": "close"}, {"op": "reopen"},
               spans_step(span(2, "second-session")), {"op": "close"}],
    ),
    "restart-torn": dict(
        description="A crash leaves a torn line; the restart quarantines it and records unclean-shutdown.",
        writer=writer(seed=SEED_A),
        steps=[spans_step(span(1, "acknowledged")), {"op": "crash"},
               {"op": "append_raw", "bytes": "{\"body\":{\"attributes\":{\"torn"},
               {"op": "reopen"}, spans_step(span(2, "after-recovery")), {"op": "close"}],
    ),
}


def write_golden() -> None:
    out = HERE / "golden"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    for name, vector in GOLDEN.items():
        vector = {"clock": CLOCK, **vector}
        with tempfile.TemporaryDirectory() as tmp:
            run_steps(vector, Path(tmp))
            files = trail_files(Path(tmp))
        vector["expected"] = {"files": files}
        (out / f"{name}.json").write_text(json.dumps(vector, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    write_golden()
    tamper.write_negative(HERE / "negative", GOLDEN, CLOCK, SEED_A, SEED_B)
    print("vectors written")
