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


# ---------------------------------------------------------------------------------------------------------------
# span_encoding.span_body_json: the canonical bytes straight from the span, equal to encode_body(span_body(span))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from opentelemetry.attributes import BoundedAttributes  # noqa: E402
from opentelemetry.sdk.trace import Event  # noqa: E402
from opentelemetry.sdk.util.instrumentation import InstrumentationScope  # noqa: E402
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags, TraceState  # noqa: E402

from gxp_otel.audit.span_encoding import _template_body, span_body_json  # noqa: E402
from gxp_otel.audit.values import encode_body  # noqa: E402


def _rarely(usual: st.SearchStrategy, rare: st.SearchStrategy) -> st.SearchStrategy:
    """``usual`` about 15 times in 16 (hypothesis draws small numbers first, so the rare case is the largest)."""
    return st.tuples(st.integers(0, 15), usual, rare).map(lambda t: t[2] if t[0] == 15 else t[1])


# the characters that matter to canonical JSON: escapes, non-ASCII, U+E000..U+FFFF, astral, lone surrogates
_TRICKY = st.sampled_from(['"', "\\", "\n", "\x00", "\x7f", "é", "\ue000", "\uffff", "😀", "\U0010ffff", "\ud800",
                           "\udfff", "gxp.user.id", "enduser.id", "session.id"])
_PLAIN = st.text(st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",)), max_size=6)
# mostly text the fast path takes, sometimes text that sends a span to the reference path
_TEXT = _rarely(_PLAIN, st.one_of(st.lists(_TRICKY, max_size=3).map("".join),
                                  st.text(st.characters(blacklist_categories=()), max_size=4)))
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), _TEXT, st.binary(max_size=4))
_VALUE = st.recursive(_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner),
                                                       st.dictionaries(_TEXT, inner, max_size=3)), max_leaves=6)
_ATTRIBUTES = st.dictionaries(st.one_of(_TEXT, st.sampled_from(["gxp.user.id", "gxp.risk.level", "gen_ai.agent.id",
                                                                "gxp.workflow.run_id", "session.id"])),
                              _VALUE, max_size=5)
_IDS = _rarely(st.integers(min_value=1, max_value=2**128 - 1), st.sampled_from([0, 2**64, 2**128]))
_SPAN_IDS = _rarely(st.integers(min_value=1, max_value=2**64 - 1), st.sampled_from([0, 2**64 - 1, 2**64]))
_TRACE_STATE = st.sampled_from([TraceState(), TraceState([("vendor", "v1")]), TraceState([("a", "1"), ("b", "x y")])])


@st.composite
def _context(draw) -> SpanContext:
    return SpanContext(trace_id=draw(_IDS), span_id=draw(_SPAN_IDS), is_remote=draw(st.booleans()),
                       trace_flags=TraceFlags(draw(st.sampled_from([0, 1]))), trace_state=draw(_TRACE_STATE))


@st.composite
def _spans(draw) -> ReadableSpan:
    attributes = draw(_ATTRIBUTES)
    if draw(st.booleans()):
        bounded = BoundedAttributes(maxlen=draw(st.sampled_from([None, 2])), immutable=False)
        bounded._dict.update(attributes)  # any values, as a hostile or buggy caller may leave them
        bounded.dropped = draw(st.integers(min_value=0, max_value=3))
        attributes = bounded
    resource = Resource.create(draw(st.dictionaries(st.sampled_from(["service.name", "enduser.id", "gxp.risk.level",
                                                                      "x"]), st.text(max_size=4), max_size=3)))
    if draw(st.booleans()):
        resource._attributes = draw(_ATTRIBUTES)  # a resource whose values the SDK would not have let in
    scope = draw(st.one_of(st.none(), st.builds(InstrumentationScope, _TEXT, st.one_of(st.none(), _TEXT),
                                                st.one_of(st.none(), st.just("https://schema")),
                                                st.one_of(st.none(), _ATTRIBUTES))))
    events = draw(st.lists(st.builds(Event, _TEXT, _ATTRIBUTES, st.one_of(st.none(), st.integers(0, 2**63))),
                           max_size=2))
    links = draw(st.lists(st.builds(Link, _context(), _ATTRIBUTES), max_size=2))
    code = draw(st.sampled_from(list(StatusCode)))
    return ReadableSpan(
        name=draw(_TEXT), context=draw(_context()), parent=draw(st.one_of(st.none(), _context())),
        resource=resource, attributes=attributes, events=events, links=links,
        kind=draw(st.sampled_from(list(SpanKind))),
        status=Status(code, draw(st.one_of(st.none(), _TEXT)) if code is StatusCode.ERROR else None),
        start_time=draw(st.one_of(st.none(), st.integers(0, 2**63 - 1))),
        end_time=draw(st.one_of(st.none(), st.integers(0, 2**63 - 1))), instrumentation_scope=scope,
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_spans())
def test_span_bytes_are_the_canonical_encoding_of_the_span_body(span: ReadableSpan):
    assert span_body_json(span) == encode_body(span_body(span))


def test_span_bytes_equal_the_reference_encoding_for_sdk_spans_and_subclasses():
    for span in _finished_spans():
        assert _template_body(span) is not None  # SDK spans take the fast path (it is not dead code)
        assert span_body_json(span) == encode_body(span_body(span)) == span_body_json(_PublicView(span))
