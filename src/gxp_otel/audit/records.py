"""The OpenTelemetry mapping (docs/audit-format.md §5): SDK spans and log records to record bodies.

``span_body`` and ``log_body`` are pure; encoded resources and scopes are memoised per object (they are immutable
in the SDK), which is what keeps per-record cost low. Thread-safe (the memo is a dict written atomically).
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from gxp_otel.audit.values import encode_attributes, encode_value, scalar_text

GXP_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("user_id", ("enduser.id", "gxp.user.id", "user.id")),
    ("agent_id", ("gxp.agent.id", "gen_ai.agent.id", "gen_ai.agent.name")),
    ("correlation_id", ("gxp.correlation.id", "session.id")),
    ("gamp_category", ("gxp.gamp.category",)),
    ("risk_level", ("gxp.risk.level",)),
    ("run_id", ("gxp.workflow.run_id",)),
)

_GXP_KEYS = frozenset(key for _, keys in GXP_FIELDS for key in keys)
_READABLE_ATTRIBUTES = ReadableSpan.__dict__["attributes"]
_READABLE_EVENTS = ReadableSpan.__dict__["events"]
_READABLE_LINKS = ReadableSpan.__dict__["links"]

_MEMO_LIMIT = 256
_memo: dict[int, tuple[object, Any]] = {}


def memoised(obj: object, build, memo: dict[int, tuple[object, Any]] = _memo) -> Any:
    """``build(obj)``, remembered in ``memo`` while ``obj`` lives (the entry holds it, so its id is not reused)."""
    hit = memo.get(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    value = build(obj)
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[id(obj)] = (obj, value)
    return value


def encode_resource(resource) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The §5.2 encoding of a resource, its GxP fields (§5.5) and what was coerced in it."""
    coerced: list[str] = []
    attributes = encode_attributes(resource.attributes if resource else None, "resource/attributes", coerced)
    encoded: dict[str, Any] = {"attributes": attributes}
    if resource is not None and resource.schema_url:
        encoded["schema_url"] = resource.schema_url
    return encoded, _first_found(attributes), coerced


def encode_scope(scope) -> tuple[dict[str, Any], list[str]]:
    """The §5.2 encoding of an instrumentation scope and what was coerced in it."""
    coerced: list[str] = []
    if scope is None:
        return {"name": "", "version": ""}, coerced
    encoded: dict[str, Any] = {"name": scope.name or "", "version": scope.version or ""}
    attributes = getattr(scope, "attributes", None)
    if attributes:
        encoded["attributes"] = encode_attributes(attributes, "scope/attributes", coerced)
    if scope.schema_url:
        encoded["schema_url"] = scope.schema_url
    return encoded, coerced


def _first_found(attributes: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    if _GXP_KEYS.isdisjoint(attributes):
        return found
    for field, keys in GXP_FIELDS:
        for key in keys:
            value = attributes.get(key)
            if value is not None:
                text = scalar_text(value)
                if text is not None:
                    found[field] = text
                    break
    return found


def gxp_fields(attributes: dict[str, Any], resource_fields: dict[str, str]) -> dict[str, str]:
    """§5.5: for each field the first listed key found in the record's attributes, else in the resource's."""
    own = _first_found(attributes) if attributes else {}
    return {**resource_fields, **own} if resource_fields else own


def _hex_trace(trace_id: int | None) -> str:
    return format(trace_id, "032x") if trace_id else ""


def _hex_span(span_id: int | None) -> str:
    return format(span_id, "016x") if span_id else ""


def _common(resource, scope, attributes: dict[str, Any], coerced: list[str]) -> dict[str, Any]:
    encoded_resource, resource_fields, resource_coerced = memoised(resource, encode_resource)
    encoded_scope, scope_coerced = memoised(scope, encode_scope)
    coerced[:0] = resource_coerced + scope_coerced
    return {
        "resource": encoded_resource,
        "scope": encoded_scope,
        "gxp": gxp_fields(attributes, resource_fields),
    }


def _span_attributes(span: ReadableSpan):
    """The span's attributes, read without the ``MappingProxyType`` that ``ReadableSpan.attributes`` wraps them in.

    The proxy hides the SDK's ``BoundedAttributes`` from :func:`encode_attributes`'s dict fast path (iterating it goes
    through the Mapping ABC, 1.5x the cost of the whole mapping). The underlying mapping is read only when the span's
    class still uses the SDK's own ``attributes`` property, so a subclass that overrides the property is recorded
    exactly as it reports itself.
    """
    if type(span).attributes is _READABLE_ATTRIBUTES:
        return span._attributes
    return span.attributes


def _span_events(span: ReadableSpan):
    """``span.events``, skipping the SDK's locked copy into a tuple when its own event list is empty (most spans).

    As for attributes, the SDK's backing list is consulted only while the class uses the SDK's own property."""
    if type(span).events is _READABLE_EVENTS and not span._events:
        return ()
    return span.events


def _span_links(span: ReadableSpan):
    """``span.links``, like :func:`_span_events`."""
    if type(span).links is _READABLE_LINKS and not span._links:
        return ()
    return span.links


def span_body(span: ReadableSpan) -> dict[str, Any]:
    """The §5.3 body of one ended span."""
    coerced: list[str] = []
    context = span.context
    attributes = encode_attributes(_span_attributes(span), "attributes", coerced)
    events = [
        {
            "name": event.name,
            "time_unix_nano": str(event.timestamp or 0),
            "attributes": encode_attributes(event.attributes, f"events/{i}/attributes", coerced),
        }
        for i, event in enumerate(_span_events(span))
    ]
    links = [
        {
            "trace_id": _hex_trace(link.context.trace_id),
            "span_id": _hex_span(link.context.span_id),
            "trace_state": link.context.trace_state.to_header() if link.context.trace_state else "",
            "attributes": encode_attributes(link.attributes, f"links/{i}/attributes", coerced),
        }
        for i, link in enumerate(_span_links(span))
    ]
    encoded_resource, resource_fields, resource_coerced = memoised(span.resource, encode_resource)
    encoded_scope, scope_coerced = memoised(span.instrumentation_scope, encode_scope)
    if resource_coerced or scope_coerced:
        coerced[:0] = resource_coerced + scope_coerced
    parent = span.parent
    trace_state = context.trace_state
    status = span.status
    # ``_name_`` is the Enum member's documented name attribute (what ``.name`` returns, without the descriptor).
    body = {
        "resource": encoded_resource,
        "scope": encoded_scope,
        "gxp": gxp_fields(attributes, resource_fields),
        "trace_id": _hex_trace(context.trace_id),
        "span_id": _hex_span(context.span_id),
        "parent_span_id": _hex_span(parent.span_id) if parent else "",
        "trace_state": trace_state.to_header() if trace_state else "",
        "name": span.name,
        "kind": span.kind._name_,
        "start_time_unix_nano": str(span.start_time or 0),
        "end_time_unix_nano": str(span.end_time or 0),
        "status": {"code": status.status_code._name_, "message": status.description or ""},
        "attributes": attributes,
        "events": events,
        "links": links,
        "dropped": {
            "attributes": str(span.dropped_attributes),
            "events": str(span.dropped_events),
            "links": str(span.dropped_links),
        },
    }
    if coerced:
        body["coerced"] = coerced
    return body


def log_body(readable) -> dict[str, Any]:
    """The §5.4 body of one ``ReadableLogRecord``."""
    record = readable.log_record
    coerced: list[str] = []
    attributes = encode_attributes(record.attributes, "attributes", coerced)
    body = _common(readable.resource, readable.instrumentation_scope, attributes, coerced)
    severity = record.severity_number.value if record.severity_number is not None else 0
    body.update(
        {
            "time_unix_nano": str(record.timestamp or 0),
            "observed_time_unix_nano": str(record.observed_timestamp or 0),
            "severity_number": str(severity),
            "severity_text": record.severity_text or "",
            "event_name": getattr(record, "event_name", None) or "",
            "body": encode_value(record.body, "body", coerced),
            "attributes": attributes,
            "trace_id": _hex_trace(record.trace_id),
            "span_id": _hex_span(record.span_id),
            "trace_flags": format(int(record.trace_flags or 0), "02x"),
            "dropped_attributes": str(readable.dropped_attributes),
        }
    )
    if coerced:
        body["coerced"] = coerced
    return body
