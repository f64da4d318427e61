"""The span mapping's fast paths (records.span_body reads the SDK's backing attribute dict and event/link lists)
must give exactly the body the public ``ReadableSpan`` API gives, and must never bypass a subclass's own view."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from gxp_otel.audit.canonical import canonical_number_free
from gxp_otel.audit.records import span_body


def _finished_spans() -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "records-test", "enduser.id": "res-user"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("records-test", "1.0")
    with tracer.start_as_current_span("plain"):
        pass
    with tracer.start_as_current_span("parent", attributes={"gxp.user.id": "alice", "n": 7, "ok": True}) as parent:
        parent.add_event("checked", {"score": 0.5, "tags": ("a", "b")})
        with tracer.start_as_current_span(
            "child",
            links=[Link(parent.get_span_context(), {"why": "follows"})],
            attributes={"big": 2**70, "ratio": 1.25, "blob": b"\x00\x01", "list": [1, 2, 3], "gxp.risk.level": "high"},
        ) as child:
            child.set_status(Status(StatusCode.ERROR, "boom"))
    provider.shutdown()
    return list(memory.get_finished_spans())


class _PublicView(ReadableSpan):
    """A ReadableSpan subclass that answers only through overridden public properties (no SDK backing fields)."""

    def __init__(self, span: ReadableSpan, *, attributes=None, events=None, links=None) -> None:
        super().__init__(
            name=span.name, context=span.context, parent=span.parent, resource=span.resource,
            kind=span.kind, status=span.status, start_time=span.start_time, end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
        self._view = (
            dict(span.attributes) if attributes is None else attributes,
            tuple(span.events) if events is None else events,
            tuple(span.links) if links is None else links,
        )
        self._dropped = (span.dropped_attributes, span.dropped_events, span.dropped_links)

    @property
    def attributes(self):
        return self._view[0]

    @property
    def events(self):
        return self._view[1]

    @property
    def links(self):
        return self._view[2]

    @property
    def dropped_attributes(self) -> int:
        return self._dropped[0]

    @property
    def dropped_events(self) -> int:
        return self._dropped[1]

    @property
    def dropped_links(self) -> int:
        return self._dropped[2]


def test_sdk_spans_map_to_the_same_canonical_body_as_through_the_public_api():
    spans = _finished_spans()
    assert len(spans) == 3
    for span in spans:
        assert canonical_number_free(span_body(span)) == canonical_number_free(span_body(_PublicView(span)))
    child = next(span for span in spans if span.name == "child")
    body = span_body(child)
    assert body["attributes"]["big"] == {"stringValue": str(2**70)}
    assert body["coerced"] == ["attributes/big: int-out-of-range"]
    assert body["links"][0]["attributes"] == {"why": {"stringValue": "follows"}}
    assert body["status"] == {"code": "ERROR", "message": "boom"}
    assert body["gxp"] == {"user_id": "res-user", "risk_level": "high"}


def test_a_subclass_that_overrides_attributes_events_or_links_is_recorded_as_it_reports_itself():
    plain = next(span for span in _finished_spans() if span.name == "plain")
    parent = next(span for span in _finished_spans() if span.name == "parent")
    view = _PublicView(plain, attributes={"shown": "yes"}, events=parent.events, links=())
    view._attributes = {"hidden": "backing dict"}  # what a fast path reading the SDK field would wrongly record
    body = span_body(view)
    assert body["attributes"] == {"shown": {"stringValue": "yes"}}
    assert [event["name"] for event in body["events"]] == ["checked"]
    assert body["links"] == []
