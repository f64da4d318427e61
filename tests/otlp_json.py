"""OTLP/JSON (the protobuf JSON mapping) to Python SDK objects, for the language-neutral test vectors.

Test support only: vectors give their input as OTLP/JSON so the Go exporter can read the same files with pdata's
JSON unmarshalers.
"""

from __future__ import annotations

import base64
from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

_NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def any_value(value: dict[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        raw = value["doubleValue"]
        return _NON_FINITE[raw] if isinstance(raw, str) else float(raw)
    if "bytesValue" in value:
        return base64.b64decode(value["bytesValue"])
    if "arrayValue" in value:
        return [any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {kv["key"]: any_value(kv.get("value", {})) for kv in value["kvlistValue"].get("values", [])}
    return None


def attributes(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in items or []:
        converted = any_value(kv.get("value", {}))
        out[kv["key"]] = tuple(converted) if isinstance(converted, list) else converted
    return out


def _resource(block: dict[str, Any]) -> Resource:
    resource = block.get("resource", {})
    return Resource(attributes(resource.get("attributes")), block.get("schemaUrl"))


def _scope(block: dict[str, Any]) -> InstrumentationScope:
    scope = block.get("scope", {})
    return InstrumentationScope(
        scope.get("name", ""), scope.get("version") or None, block.get("schemaUrl") or None,
        attributes(scope.get("attributes")) or None,
    )


def _state(text: str | None) -> TraceState:
    return TraceState.from_header([text]) if text else TraceState()


def spans(request: dict[str, Any]) -> list[ReadableSpan]:
    out = []
    for resource_block in request.get("resourceSpans", []):
        resource = _resource(resource_block)
        for scope_block in resource_block.get("scopeSpans", []):
            scope = _scope(scope_block)
            for s in scope_block.get("spans", []):
                trace_id = int(s["traceId"], 16)
                context = SpanContext(trace_id, int(s["spanId"], 16), False, TraceFlags(1), _state(s.get("traceState")))
                parent = (
                    SpanContext(trace_id, int(s["parentSpanId"], 16), False, TraceFlags(1))
                    if s.get("parentSpanId") else None
                )
                status = s.get("status", {})
                out.append(
                    ReadableSpan(
                        name=s["name"],
                        context=context,
                        parent=parent,
                        resource=resource,
                        attributes=attributes(s.get("attributes")),
                        events=[
                            Event(e["name"], attributes(e.get("attributes")), int(e.get("timeUnixNano", 0)))
                            for e in s.get("events", [])
                        ],
                        links=[
                            Link(
                                SpanContext(int(l["traceId"], 16), int(l["spanId"], 16), False, TraceFlags(1),
                                            _state(l.get("traceState"))),
                                attributes(l.get("attributes")),
                            )
                            for l in s.get("links", [])
                        ],
                        kind=SpanKind(max(int(s.get("kind", 1)) - 1, 0)),
                        status=Status(StatusCode(int(status.get("code", 0))), status.get("message") or None),
                        start_time=int(s["startTimeUnixNano"]),
                        end_time=int(s["endTimeUnixNano"]),
                        instrumentation_scope=scope,
                    )
                )
    return out


def logs(request: dict[str, Any]) -> list[ReadableLogRecord]:
    out = []
    for resource_block in request.get("resourceLogs", []):
        resource = _resource(resource_block)
        for scope_block in resource_block.get("scopeLogs", []):
            scope = _scope(scope_block)
            for r in scope_block.get("logRecords", []):
                severity = int(r.get("severityNumber", 0))
                record = LogRecord(
                    timestamp=int(r.get("timeUnixNano", 0)) or None,
                    observed_timestamp=int(r.get("observedTimeUnixNano", 0)) or None,
                    trace_id=int(r["traceId"], 16) if r.get("traceId") else 0,
                    span_id=int(r["spanId"], 16) if r.get("spanId") else 0,
                    trace_flags=TraceFlags(int(r.get("flags", 0)) & 0xFF),
                    severity_text=r.get("severityText") or None,
                    severity_number=SeverityNumber(severity) if severity else None,
                    body=any_value(r["body"]) if "body" in r else None,
                    attributes=attributes(r.get("attributes")),
                    event_name=r.get("eventName") or None,
                )
                out.append(ReadableLogRecord(record, resource=resource, instrumentation_scope=scope))
    return out
