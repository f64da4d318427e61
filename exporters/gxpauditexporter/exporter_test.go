package gxpauditexporter

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditverify"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/internal/metadata"
)

func testConfig(t *testing.T) *Config {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Directory = t.TempDir()
	cfg.Stream = "collector.test"
	return cfg
}

// pipelines creates and starts the traces and logs exporters of one configuration, as the collector does.
func pipelines(t *testing.T, cfg *Config) (exporter.Traces, exporter.Logs) {
	t.Helper()
	ctx := context.Background()
	set := exportertest.NewNopSettings(metadata.Type)
	te, err := NewFactory().CreateTraces(ctx, set, cfg)
	require.NoError(t, err)
	le, err := NewFactory().CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	require.NoError(t, te.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, le.Start(ctx, componenttest.NewNopHost()))
	return te, le
}

func traces(batch, spans int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "gxp-test")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := 0; i < spans; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetName("step")
		s.SetTraceID(pcommon.TraceID{1, byte(batch >> 8), byte(batch)})
		s.SetSpanID(pcommon.SpanID{2, byte(batch >> 8), byte(batch), byte(i >> 8), byte(i)})
		s.Attributes().PutInt("batch", int64(batch))
		s.Attributes().PutInt("index", int64(i))
	}
	return td
}

func logs(n int) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i := 0; i < n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr("approved")
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
	}
	return ld
}

func verify(t *testing.T, dir string) *auditverify.Report {
	t.Helper()
	report, err := auditverify.Verify(dir, auditverify.Options{})
	require.NoError(t, err)
	require.Empty(t, report.Problems)
	return report
}

// countKinds counts the records of each kind in the plain chain files.
func countKinds(t *testing.T, dir string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(dir, "audit-*-*.jsonl"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			rec, problem, _ := auditformat.CheckLine([]byte(line))
			require.Empty(t, problem)
			counts[rec.Kind]++
		}
	}
	return counts
}

func TestTracesAndLogsShareOneClosedChain(t *testing.T) {
	cfg := testConfig(t)
	te, le := pipelines(t, cfg)
	ctx := context.Background()
	require.NoError(t, te.ConsumeTraces(ctx, traces(1, 3)))
	require.NoError(t, le.ConsumeLogs(ctx, logs(2)))
	require.NoError(t, te.Shutdown(ctx))
	require.NoError(t, le.Shutdown(ctx))

	report := verify(t, cfg.Directory)
	require.Len(t, report.Streams, 1)
	stream := report.Streams[0]
	assert.Equal(t, "collector.test", stream.Stream)
	assert.True(t, stream.Closed, "the last Shutdown writes the close checkpoint")
	assert.Equal(t, map[string]int{"genesis": 1, "span": 3, "log": 2, "checkpoint": 1}, countKinds(t, cfg.Directory))
}

func TestTenQueueConsumersProduceOneOrderedChainAndShutdownDrainsTheQueue(t *testing.T) {
	cfg := testConfig(t)
	queue := cfg.QueueConfig.GetOrInsertDefault()
	require.Equal(t, 10, queue.NumConsumers)
	queue.QueueSize = 10_000
	te, le := pipelines(t, cfg)
	ctx := context.Background()
	const producers, batches, perBatch = 8, 25, 20
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				assert.NoError(t, te.ConsumeTraces(ctx, traces(p*batches+b, perBatch)))
			}
		}(p)
	}
	wg.Wait()
	// The queue is asynchronous: most batches are still queued here. Shutdown must drain it before closing.
	require.NoError(t, te.Shutdown(ctx))
	require.NoError(t, le.Shutdown(ctx))
	verify(t, cfg.Directory)
	assert.Equal(t, producers*batches*perBatch, countKinds(t, cfg.Directory)["span"])
}

func TestRotationCompressesClosedFilesAndTheTrailStillVerifies(t *testing.T) {
	cfg := testConfig(t)
	cfg.Rotation.MaxBytes = 4096
	te, le := pipelines(t, cfg)
	ctx := context.Background()
	for b := 0; b < 10; b++ {
		require.NoError(t, te.ConsumeTraces(ctx, traces(b, 5)))
	}
	require.NoError(t, te.Shutdown(ctx))
	require.NoError(t, le.Shutdown(ctx))
	gz, _ := filepath.Glob(filepath.Join(cfg.Directory, "audit-collector.test-*.jsonl.gz"))
	plain, _ := filepath.Glob(filepath.Join(cfg.Directory, "audit-collector.test-*.jsonl"))
	require.NotEmpty(t, gz, "closed files are compressed")
	require.Len(t, plain, 1, "only the newest file stays plain")
	report := verify(t, cfg.Directory)
	assert.Equal(t, len(gz)+1, len(report.Streams[0].Files))
}

func TestRestartContinuesTheChainWithARecoveryRecord(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	for round := 0; round < 2; round++ {
		te, le := pipelines(t, cfg)
		require.NoError(t, te.ConsumeTraces(ctx, traces(round, 2)))
		require.NoError(t, te.Shutdown(ctx))
		require.NoError(t, le.Shutdown(ctx))
	}
	verify(t, cfg.Directory)
	kinds := countKinds(t, cfg.Directory)
	assert.Equal(t, 1, kinds["genesis"])
	assert.Equal(t, 1, kinds["recovery"])
	assert.Equal(t, 4, kinds["span"])
}

func TestExportAfterShutdownIsAPermanentError(t *testing.T) {
	cfg := testConfig(t)
	e := sharedExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, e.shutdown(context.Background()))
	err := e.pushTraces(context.Background(), traces(0, 1))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
}

func TestStartFailsOnAnUnreadableSigningKey(t *testing.T) {
	cfg := testConfig(t)
	cfg.SigningKeyFile = filepath.Join(t.TempDir(), "missing.pem")
	e := sharedExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	err := e.start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "signing_key_file")
}
