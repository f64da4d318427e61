package gxpauditexporter

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/internal/metadata"
	"go.opentelemetry.io/collector/component/componenttest"
)

// benchmarkSpans is a batch shaped like cmd/otlpload's: workflow-step spans with GxP attributes and one event.
func benchmarkSpans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "pharma-test-generation")
	rs.Resource().Attributes().PutStr("enduser.id", "qa.author@example.com")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("gxp_otel.instrumentation")
	now := time.Now().UnixNano()
	for i := 0; i < n; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{0x5b, 0x8e, byte(i >> 8), byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
		s.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, byte(i >> 8), byte(i)})
		s.SetName("PharmaTestGenerationWorkflow.plan_tests")
		s.SetStartTimestamp(pcommon.Timestamp(now))
		s.SetEndTimestamp(pcommon.Timestamp(now + 1_500_000))
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

// BenchmarkPushTraces measures the exporter's own cost per span (encoding, hashing, writing, one fsync per call).
func BenchmarkPushTraces(b *testing.B) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Directory = b.TempDir()
	cfg.Stream = "bench.0"
	e := sharedExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	if err := e.start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	defer e.shutdown(context.Background())
	td := benchmarkSpans(1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.pushTraces(context.Background(), td); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkDecodeAndPushTraces adds what the receiver does first (protobuf decoding), as in the collector.
func BenchmarkDecodeAndPushTraces(b *testing.B) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Directory = b.TempDir()
	cfg.Stream = "bench.0"
	e := sharedExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	if err := e.start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	defer e.shutdown(context.Background())
	raw, err := ptraceotlp.NewExportRequestFromTraces(benchmarkSpans(1000)).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(raw); err != nil {
			b.Fatal(err)
		}
		if err := e.pushTraces(context.Background(), req.Traces()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "spans/s")
}
