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

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/internal/benchdata"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:4328/v1/traces", "OTLP/HTTP traces URL")
	perRequest := flag.Int("spans", 1000, "spans per request")
	workers := flag.Int("workers", 8, "concurrent requests")
	duration := flag.Duration("duration", 10*time.Second, "measured time")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured time before it")
	authorization := flag.String("authorization", "", "Authorization header value sent with every request (e.g. \"Bearer <token>\")")
	flag.Parse()

	body, err := ptraceotlp.NewExportRequestFromTraces(benchdata.WorkflowSpans(*perRequest)).MarshalProto()
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
				req, _ := http.NewRequest(http.MethodPost, *endpoint, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/x-protobuf")
				if *authorization != "" {
					req.Header.Set("Authorization", *authorization)
				}
				resp, err := client.Do(req)
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
