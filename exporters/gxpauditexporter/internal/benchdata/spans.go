// Package benchdata holds the spans the throughput benchmarks send (cmd/otlpload, the Go benchmarks).
package benchdata

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// WorkflowSpans is one request of n spans shaped like an instrumented workflow step: ids, times, status, a
// handful of GxP and OpenInference attributes and one event.
func WorkflowSpans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "pharma-test-generation")
	rs.Resource().Attributes().PutStr("enduser.id", "qa.author@example.com")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("gxp_otel.instrumentation")
	ss.Scope().SetVersion("0.1.0")
	now := time.Now().UnixNano()
	for i := 0; i < n; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{0x5b, 0x8e, byte(i >> 8), byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
		s.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, byte(i >> 8), byte(i)})
		s.SetParentSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
		s.SetName("PharmaTestGenerationWorkflow.plan_tests")
		s.SetKind(ptrace.SpanKindInternal)
		s.SetStartTimestamp(pcommon.Timestamp(now))
		s.SetEndTimestamp(pcommon.Timestamp(now + 1_500_000))
		s.Status().SetCode(ptrace.StatusCodeOk)
		a := s.Attributes()
		a.PutStr("openinference.span.kind", "CHAIN")
		a.PutStr("gxp.workflow.run_id", "run-42")
		a.PutStr("gxp.correlation.id", "req-4f1c2b9a")
		a.PutInt("gxp.gamp.category", 5)
		a.PutStr("gxp.risk.level", "high")
		a.PutStr("input.value", "URS-042 REQ-003 The system shall calculate assay results")
		a.PutDouble("llm.confidence", 0.93)
		a.PutBool("gxp.human_review", true)
		ev := s.Events().AppendEmpty()
		ev.SetName("stream_event")
		ev.SetTimestamp(pcommon.Timestamp(now + 1_000_000))
		ev.Attributes().PutStr("event.type", "TestPlanEvent")
	}
	return td
}
