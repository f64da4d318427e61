"""Issue 15.2 on the review page: the identity the application declared (``gxp``), the sender the collector
authenticated (``ingest``, docs/audit-format.md §5.6) and the kind of each decision are shown apart, so a
record that only *claims* qa.head is never read as qa.head's authenticated approval."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gxp_otel.audit.records import span_body
from gxp_otel.audit.writer import AuditTrailWriter
from gxp_otel.review import build_review
from gxp_otel.review.runs import authenticated_sender

RUN = "run-ingest-1"


def _root_body() -> dict:
    """The §5.3 body of a real SDK run span, as the collector's writer would seal it before adding ``ingest``."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span("Review.run") as span:
        span.set_attributes({"gxp.workflow.name": "Review", "gxp.workflow.run_id": RUN, "enduser.id": "qa.head"})
    (finished,) = exporter.get_finished_spans()
    return span_body(finished)


def _decision(responder: str, ingest: dict | None) -> dict:
    body = {
        "resource": {"attributes": {}}, "scope": {"name": "test", "version": ""},
        "gxp": {"user_id": "qa.head", "run_id": RUN},
        "time_unix_nano": "1764000000000000000", "observed_time_unix_nano": "1764000000000000000",
        "severity_number": "9", "severity_text": "INFO", "event_name": "Decision",
        "body": {"kvlistValue": {"response": {"stringValue": "approved"}}},
        "attributes": {"gxp.hitl.action": {"stringValue": "human-response"},
                       "gxp.hitl.responder": {"stringValue": responder},
                       "gxp.workflow.run_id": {"stringValue": RUN}},
        "trace_id": "", "span_id": "", "trace_flags": "00", "dropped_attributes": "0",
    }
    if ingest is not None:
        body["ingest"] = ingest
    return body


def test_declared_and_authenticated_identities_of_decisions_are_shown_apart(tmp_path):
    root = _root_body()
    root["ingest"] = {"peer": "127.0.0.1", "subject": "lims-service", "via": "authenticator"}
    writer = AuditTrailWriter(tmp_path, stream_id="gw.0", compress=False)
    writer.append("span", [root])
    writer.append("log", [
        _decision("qa.head", {"peer": "127.0.0.1", "subject": "lims-service", "via": "authenticator"}),
        _decision("qa.head", {"peer": "127.0.0.1", "subject": "", "via": "none"}),
        _decision("qa.head", None),
    ])
    writer.close()
    (run,) = [r for r in build_review(tmp_path)["runs"] if r["run_id"] == RUN]
    assert run["user"] == "qa.head" and run["senders"] == ["lims-service"]
    assert [(a["responder"], a["sender"]) for a in run["approvals"]] == [
        ("qa.head", "lims-service"), ("qa.head", ""), ("qa.head", "")]


def test_a_client_claimed_ingest_attribute_is_not_an_authenticated_sender():
    assert authenticated_sender({"attributes": {"ingest.subject": {"stringValue": "qa.head"}}}) == ""
    assert authenticated_sender({"ingest": {"subject": "qa.head", "via": "none"}}) == ""
    assert authenticated_sender({"ingest": ["qa.head"]}) == ""
    assert authenticated_sender({"ingest": {"subject": "CN=lims", "via": "tls-client-certificate"}}) == "CN=lims"
