// Command otlpload is the load generator of the collector throughput benchmark (bench/collector_throughput.py):
// it builds one OTLP/HTTP protobuf request of realistic workflow spans once and posts it from several workers for
// a fixed time, so the collector, not the client, is the bottleneck. It prints one JSON line:
// {"spans": acknowledged spans, "seconds", "spans_per_second", "requests", "errors"}.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:4328/v1/traces", "OTLP/HTTP traces URL")
	perRequest := flag.Int("spans", 1000, "spans per request")
	workers := flag.Int("workers", 8, "concurrent requests")
	duration := flag.Duration("duration", 10*time.Second, "measured time")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured time before it")
	flag.Parse()

	body, err := ptraceotlp.NewExportRequestFromTraces(workflowSpans(*perRequest)).MarshalProto()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *workers}, Timeout: 30 * time.Second}
	var measuring atomic.Bool
	var spans, requests, errs atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(*endpoint, "application/x-protobuf", bytes.NewReader(body))
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if !measuring.Load() {
					continue
				}
				if ok {
					spans.Add(int64(*perRequest))
					requests.Add(1)
				} else {
					errs.Add(1)
				}
			}
		}()
	}
	time.Sleep(*warmup)
	measuring.Store(true)
	fmt.Fprintln(os.Stderr, "measuring") // the benchmark driver reads the collector's CPU time at these two lines
	start := time.Now()
	time.Sleep(*duration)
	measuring.Store(false)
	elapsed := time.Since(start).Seconds()
	fmt.Fprintln(os.Stderr, "measured")
	close(stop)
	wg.Wait()
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{
		"spans": spans.Load(), "seconds": elapsed, "spans_per_second": float64(spans.Load()) / elapsed,
		"requests": requests.Load(), "errors": errs.Load(),
	})
}

// workflowSpans is one request of spans shaped like an instrumented workflow step: ids, times, status, a
// handful of GxP and OpenInference attributes and one event.
func workflowSpans(n int) ptrace.Traces {
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
