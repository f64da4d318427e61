package gxpauditexporter

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/internal/benchdata"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/internal/metadata"
)

func startBenchExporter(b *testing.B) *auditExporter {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Directory = b.TempDir()
	cfg.Stream = "bench.0"
	e := sharedExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	if err := e.start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.shutdown(context.Background()) })
	return e
}

// BenchmarkPushTraces measures the exporter's own cost per span (encoding, hashing, writing, one fsync per call).
func BenchmarkPushTraces(b *testing.B) {
	e := startBenchExporter(b)
	td := benchdata.WorkflowSpans(1000)
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
	e := startBenchExporter(b)
	raw, err := ptraceotlp.NewExportRequestFromTraces(benchdata.WorkflowSpans(1000)).MarshalProto()
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

// BenchmarkDecodeAndPushTracesConcurrently is BenchmarkDecodeAndPushTraces with 8 requests in flight per P, as
// the collector's receiver has them under load: appends overlap the group-commit fsync, and rotated files are
// compressed while requests arrive. Run it at GOMAXPROCS=1 to see the one-core collector.
func BenchmarkDecodeAndPushTracesConcurrently(b *testing.B) {
	e := startBenchExporter(b)
	raw, err := ptraceotlp.NewExportRequestFromTraces(benchdata.WorkflowSpans(1000)).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalProto(raw); err != nil {
				b.Error(err)
				return
			}
			if err := e.pushTraces(context.Background(), req.Traces()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "spans/s")
}
