// Package traceshardprocessor is the `gxptraceshard` processor: it keeps the spans and log records of one shard of
// the trace-id space and drops the rest, so that an agent collector with one pipeline per gateway (each
// `gxptraceshard/K` followed by that gateway's exporter and persistent queue) sends every record of a trace to the
// same gateway, whose audit chain then holds the whole run (docs/deployment.md, scale-out). It stands in for
// contrib's loadbalancingexporter, which the module proxy does not serve at this collector release.
//
// The shard of a trace id is FNV-1a-64 of its 16 bytes, modulo `shards`: stable across restarts, processes and
// hosts, so every agent routes a trace alike. A log record without a trace id belongs to shard 0. The mapping is
// static: changing `shards` moves traces between gateways (a run in flight may then span two chains, each of which
// still verifies).
package traceshardprocessor

import (
	"context"
	"fmt"
	"hash/fnv"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
)

// Config selects shard `Shard` of `Shards`.
type Config struct {
	Shard  int `mapstructure:"shard"`
	Shards int `mapstructure:"shards"`
}

// Validate names the field at fault.
func (c *Config) Validate() error {
	if c.Shards < 1 {
		return fmt.Errorf("shards must be at least 1, not %d", c.Shards)
	}
	if c.Shard < 0 || c.Shard >= c.Shards {
		return fmt.Errorf("shard must be in [0, %d), not %d", c.Shards, c.Shard)
	}
	return nil
}

var typ = component.MustNewType("gxptraceshard")

// NewFactory creates the factory of the gxptraceshard processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(typ, func() component.Config { return &Config{Shards: 1} },
		processor.WithTraces(createTraces, component.StabilityLevelAlpha),
		processor.WithLogs(createLogs, component.StabilityLevelAlpha))
}

// ShardOf is the shard of a trace id among shards.
func ShardOf(id pcommon.TraceID, shards int) int {
	if id.IsEmpty() {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write(id[:])
	return int(h.Sum64() % uint64(shards))
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	c := cfg.(*Config)
	return processorhelper.NewTraces(ctx, set, cfg, next, func(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
		td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
			rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
				ss.Spans().RemoveIf(func(s ptrace.Span) bool { return ShardOf(s.TraceID(), c.Shards) != c.Shard })
				return ss.Spans().Len() == 0
			})
			return rs.ScopeSpans().Len() == 0
		})
		if td.ResourceSpans().Len() == 0 {
			return td, processorhelper.ErrSkipProcessingData
		}
		return td, nil
	}, processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}))
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	c := cfg.(*Config)
	return processorhelper.NewLogs(ctx, set, cfg, next, func(_ context.Context, ld plog.Logs) (plog.Logs, error) {
		ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
			rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
				sl.LogRecords().RemoveIf(func(l plog.LogRecord) bool { return ShardOf(l.TraceID(), c.Shards) != c.Shard })
				return sl.LogRecords().Len() == 0
			})
			return rl.ScopeLogs().Len() == 0
		})
		if ld.ResourceLogs().Len() == 0 {
			return ld, processorhelper.ErrSkipProcessingData
		}
		return ld, nil
	}, processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}))
}
