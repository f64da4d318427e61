"""Real OTLP/HTTP spans from the plain OpenTelemetry SDK land in Phoenix as sent (read back through its REST API)."""

from __future__ import annotations

import pytest
from gxp_otel.phoenix import AuditAnnotation

pytestmark = [pytest.mark.phoenix, pytest.mark.usefixtures("no_otel_env")]


def test_spans_land_in_the_project_named_by_the_resource_with_their_parentage(phoenix, send_sample_trace) -> None:
    project = phoenix.new_project_name("ingest")
    trace_id, ids = send_sample_trace(phoenix.url, project)

    counts = phoenix.client.wait_for_spans(project, [trace_id], {trace_id: 3})
    assert counts == {trace_id: 3}
    spans = {s["name"]: s for s in phoenix.client.spans(project)}
    assert set(spans) == {"workflow.run", "step.draft", "llm.call"}
    assert spans["workflow.run"]["parent_id"] is None
    assert spans["step.draft"]["parent_id"] == ids["workflow.run"]
    assert spans["llm.call"]["parent_id"] == ids["step.draft"]
    assert {s["context"]["span_id"] for s in spans.values()} == set(ids.values())
    assert project in phoenix.client.project_names()


def test_attributes_and_span_events_are_kept(phoenix, send_sample_trace) -> None:
    project = phoenix.new_project_name("attrs")
    trace_id, _ = send_sample_trace(phoenix.url, project)
    phoenix.client.wait_for_spans(project, [trace_id], {trace_id: 3})
    spans = {s["name"]: s for s in phoenix.client.spans(project)}

    assert spans["workflow.run"]["attributes"]["gxp.workflow.run_id"] == "run-1"
    assert spans["llm.call"]["attributes"]["llm.model_name"] == "fake-llm"
    assert spans["llm.call"]["attributes"]["llm.token_count.total"] == 42
    events = spans["step.draft"]["events"]
    assert [(e["name"], e["attributes"]["text"]) for e in events] == [("stream.token", "Hel"), ("stream.token", "lo")]


def test_an_audit_annotation_on_the_root_span_can_be_read_back(phoenix, send_sample_trace) -> None:
    project = phoenix.new_project_name("annotate")
    trace_id, ids = send_sample_trace(phoenix.url, project)
    phoenix.client.wait_for_spans(project, [trace_id], {trace_id: 3})
    root = ids["workflow.run"]

    phoenix.client.annotate([AuditAnnotation(root, "verified", "audit: verified, seq 1..9", {"first_seq": "1"})])
    # Annotating twice replaces the annotation (same name and identifier) instead of adding a second one.
    phoenix.client.annotate([AuditAnnotation(root, "verified", "audit: verified, seq 1..12", {"first_seq": "1"})])

    (annotation,) = phoenix.client.span_annotations(project, [root])
    assert annotation["name"] == "audit"
    assert annotation["result"] == {"label": "verified", "score": 1.0, "explanation": "audit: verified, seq 1..12"}
    assert annotation["metadata"] == {"first_seq": "1"}


def test_trace_url_points_at_the_project_in_the_ui(phoenix, send_sample_trace) -> None:
    project = phoenix.new_project_name("links")
    trace_id, _ = send_sample_trace(phoenix.url, project)
    phoenix.client.wait_for_spans(project, [trace_id], {trace_id: 3})
    project_id = phoenix.client.project_id(project)
    assert phoenix.client.trace_url(project_id, trace_id) == f"{phoenix.url}/projects/{project_id}/traces/{trace_id}"
