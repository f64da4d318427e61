"""Spans straight to the canonical bytes of their record body: :func:`span_body_json` returns exactly
``encode_body(span_body(span))`` (docs/audit-format.md §3, §5.3) without building the body's tree.

How the bytes are the same: the body's members are fixed and all of them strings, objects or lists (no number), so
its RFC 8785 form is one template with the members in their sorted order, filled with
- the canonical bytes of the span's resource and scope (memoised per object, as in ``records``): JCS is
  compositional, an object's members are sorted within that object and every value is serialised by itself, so a
  member's canonical bytes are its bytes in the whole;
- members whose values need no escaping (hex ids, decimal times and counts, enum names: ASCII letters and digits)
  written in place; anything not of the expected type sends the span to the reference path;
- the other values (attributes, events, links, name, GxP fields, status message, trace state, ``coerced``) each
  serialised by ``orjson`` with sorted keys, the serialiser ``canonical`` uses; the whole result passes
  :func:`~gxp_otel.audit.canonical.sorted_output_is_canonical`, the test ``canonical`` applies to one orjson output.

Any other span (a ``ReadableSpan`` subclass, a lone surrogate, a character above U+FFFF, an unexpected type) takes
the reference path, ``encode_body(span_body(span))``. Equality is tested on generated spans
(tests/audit/test_records.py). Pure and thread-safe (the memo is a dict written atomically).
"""

from __future__ import annotations

import orjson
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from gxp_otel.audit.canonical import canonical_number_free, sorted_output_is_canonical
from gxp_otel.audit.records import encode_resource, encode_scope, gxp_fields, memoised, span_body
from gxp_otel.audit.values import encode_attributes, encode_body

_SORTED = orjson.OPT_SORT_KEYS
_ENUM_JSON = {member: member._name_.encode("ascii") for member in (*SpanKind, *StatusCode)}
_ID_BOUND = (1 << 128, 1 << 64)
_bytes_memo: dict[int, tuple[object, object]] = {}  # resource and scope objects to their canonical bytes

# The §5.3 body's members in their sorted (JCS) order; ``coerced`` is present only when something was coerced.
_BODY = (b'{"attributes":%b%b,"dropped":{"attributes":"%d","events":"%d","links":"%d"},"end_time_unix_nano":"%d",'
         b'"events":%b,"gxp":%b,"kind":"%b","links":%b,"name":%b,"parent_span_id":"%b","resource":%b,"scope":%b,'
         b'"span_id":"%016x","start_time_unix_nano":"%d","status":{"code":"%b","message":%b},"trace_id":"%032x",'
         b'"trace_state":%b}')


def _resource_bytes(resource) -> tuple[bytes, dict[str, str], list[str]]:
    encoded, fields, coerced = encode_resource(resource)
    return canonical_number_free(encoded), fields, coerced


def _scope_bytes(scope) -> tuple[bytes, list[str]]:
    encoded, coerced = encode_scope(scope)
    return canonical_number_free(encoded), coerced


def span_body_json(span: ReadableSpan) -> bytes:
    """The canonical bytes of the §5.3 body of one ended span: ``encode_body(span_body(span))``."""
    if type(span) is ReadableSpan:
        try:
            out = _template_body(span)
        except (ValueError, TypeError, AttributeError, KeyError):  # orjson's JSONEncodeError is a TypeError
            out = None
        if out is not None and sorted_output_is_canonical(out):
            return out
    return encode_body(span_body(span))


def _template_body(span: ReadableSpan) -> bytes | None:
    """The body through :data:`_BODY`, reading the SDK's own fields (the class is exactly ``ReadableSpan``, so
    its properties return them); ``None`` when a member is not of the type the template writes in place."""
    context, parent, status = span._context, span._parent, span._status
    trace_id, span_id = context.trace_id, context.span_id
    start, end = span._start_time or 0, span._end_time or 0
    if not (type(trace_id) is int and 0 < trace_id < _ID_BOUND[0] and type(span_id) is int
            and 0 < span_id < _ID_BOUND[1] and type(start) is int and type(end) is int):
        return None
    parent_id = b""
    if parent:
        parent_span_id = parent.span_id
        if not (type(parent_span_id) is int and 0 <= parent_span_id < _ID_BOUND[1]):
            return None
        parent_id = b"%016x" % parent_span_id if parent_span_id else b""
    coerced: list[str] = []
    attributes = encode_attributes(span._attributes, "attributes", coerced)
    events = b"[]"
    if span._events:
        events = orjson.dumps([
            {"attributes": encode_attributes(event.attributes, f"events/{i}/attributes", coerced),
             "name": event.name, "time_unix_nano": str(event.timestamp or 0)}
            for i, event in enumerate(span.events)
        ], option=_SORTED)
    links = b"[]"
    if span._links:
        links = orjson.dumps([
            {"attributes": encode_attributes(link.attributes, f"links/{i}/attributes", coerced),
             "span_id": format(link.context.span_id, "016x") if link.context.span_id else "",
             "trace_id": format(link.context.trace_id, "032x") if link.context.trace_id else "",
             "trace_state": link.context.trace_state.to_header() if link.context.trace_state else ""}
            for i, link in enumerate(span.links)
        ], option=_SORTED)
    resource, resource_fields, resource_coerced = memoised(span._resource, _resource_bytes, _bytes_memo)
    scope, scope_coerced = memoised(span._instrumentation_scope, _scope_bytes, _bytes_memo)
    if resource_coerced or scope_coerced:
        coerced[:0] = resource_coerced + scope_coerced
    trace_state = context.trace_state
    return _BODY % (
        orjson.dumps(attributes, option=_SORTED),
        b',"coerced":' + orjson.dumps(coerced, option=_SORTED) if coerced else b"",
        span.dropped_attributes, span.dropped_events, span.dropped_links,
        end,
        events,
        orjson.dumps(gxp_fields(attributes, resource_fields), option=_SORTED),
        _ENUM_JSON[span._kind],
        links,
        orjson.dumps(span._name, option=_SORTED),
        parent_id,
        resource,
        scope,
        span_id,
        start,
        _ENUM_JSON[status.status_code],
        orjson.dumps(status.description or "", option=_SORTED),
        trace_id,
        orjson.dumps(trace_state.to_header(), option=_SORTED) if trace_state else b'""',
    )
