package auditbody

import (
	"testing"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/internal/benchdata"
)

// BenchmarkTraces measures span -> canonical body alone (the example workflow's spans, 1000 per call).
func BenchmarkTraces(b *testing.B) {
	td := benchdata.WorkflowSpans(1000)
	var e Encoder
	var buf []byte
	var ends []int
	b.ReportAllocs()
	for b.Loop() {
		buf, ends = e.Traces(buf[:0], ends[:0], td)
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "spans/s")
}
