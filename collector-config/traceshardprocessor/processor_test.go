package traceshardprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

func traceID(i int) pcommon.TraceID {
	return pcommon.TraceID{byte(i), byte(i >> 8), 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 1}
}

func TestEverySpanAndLogGoesToExactlyOneShardAndATraceStaysTogether(t *testing.T) {
	const shards, traces = 3, 300
	byShard := map[int]map[pcommon.TraceID]int{}
	logsByShard := map[int]int{}
	for shard := 0; shard < shards; shard++ {
		sink, logSink := &consumertest.TracesSink{}, &consumertest.LogsSink{}
		cfg := &Config{Shard: shard, Shards: shards}
		require.NoError(t, cfg.Validate())
		set := processortest.NewNopSettings(typ)
		tp, err := NewFactory().CreateTraces(context.Background(), set, cfg, sink)
		require.NoError(t, err)
		lp, err := NewFactory().CreateLogs(context.Background(), set, cfg, logSink)
		require.NoError(t, err)
		require.NoError(t, tp.Start(context.Background(), componenttest.NewNopHost()))
		td := ptrace.NewTraces()
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
		ld := plog.NewLogs()
		sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
		for i := 0; i < traces; i++ {
			for j := 0; j < 2; j++ {
				ss.Spans().AppendEmpty().SetTraceID(traceID(i))
			}
			sl.LogRecords().AppendEmpty().SetTraceID(traceID(i))
		}
		sl.LogRecords().AppendEmpty() // no trace id: shard 0
		require.NoError(t, tp.ConsumeTraces(context.Background(), td))
		require.NoError(t, lp.ConsumeLogs(context.Background(), ld))
		byShard[shard] = map[pcommon.TraceID]int{}
		for _, got := range sink.AllTraces() {
			spans := got.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			for k := 0; k < spans.Len(); k++ {
				byShard[shard][spans.At(k).TraceID()]++
			}
		}
		logsByShard[shard] = logSink.LogRecordCount()
	}
	total := 0
	for shard, ids := range byShard {
		assert.NotEmpty(t, ids, "shard %d gets traces", shard)
		for id, n := range ids {
			assert.Equal(t, 2, n, "both spans of a trace in one shard")
			assert.Equal(t, shard, ShardOf(id, shards))
			total += n
		}
	}
	assert.Equal(t, 2*traces, total, "every span in exactly one shard")
	assert.Equal(t, traces+1, logsByShard[0]+logsByShard[1]+logsByShard[2])
}

func TestInvalidShardsAreRefusedNamingTheField(t *testing.T) {
	assert.EqualError(t, (&Config{Shard: 3, Shards: 3}).Validate(), "shard must be in [0, 3), not 3")
	assert.EqualError(t, (&Config{Shards: 0}).Validate(), "shards must be at least 1, not 0")
}
