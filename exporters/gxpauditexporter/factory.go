// Package gxpauditexporter is the OpenTelemetry Collector exporter `gxpaudit`: it writes traces and logs to a
// gxp-otel audit trail (docs/audit-format.md), byte-compatible with the Python writer, with the collector's own
// queueing, retry and persistence in front of it.
package gxpauditexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/audittrail"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/internal/metadata"
)

// NewFactory creates the factory of the gxpaudit exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(createTraces, metadata.TracesStability),
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Fsync:         audittrail.FsyncBatch,
		FsyncInterval: audittrail.DefaultFsyncInterval,
		Rotation:      RotationConfig{MaxBytes: audittrail.DefaultRotateBytes, Daily: true},
		Compress:      true,
		Checkpoint: CheckpointConfig{
			Interval:   audittrail.DefaultCheckpointInterval,
			MaxRecords: audittrail.DefaultCheckpointRecords,
			Witness:    WitnessConfig{Timeout: defaultWitnessTimeout},
		},
		RetentionDays: audittrail.DefaultRetentionDays,
		TimeoutConfig: exporterhelper.NewDefaultTimeoutConfig(),
		QueueConfig:   metadata.NewDefaultSendingQueueConfig(),
		BackOffConfig: configretry.NewDefaultBackOffConfig(),
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	e := sharedExporter(c, set)
	t, err := exporterhelper.NewTraces(ctx, set, cfg, e.pushTraces, helperOptions(withIngestionPartitions(c), e)...)
	if err != nil {
		return nil, err
	}
	return attributedTraces{t}, nil
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e := sharedExporter(c, set)
	l, err := exporterhelper.NewLogs(ctx, set, cfg, e.pushLogs, helperOptions(withIngestionPartitions(c), e)...)
	if err != nil {
		return nil, err
	}
	return attributedLogs{l}, nil
}

// helperOptions: queue (batches partitioned by sender, see withIngestionPartitions), retry and timeout are the exporterhelper's; Start opens the shared writer, and Shutdown,
// which the helper runs after the queue has drained, writes the close checkpoint and fsyncs.
func helperOptions(cfg *Config, e *auditExporter) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(cfg.TimeoutConfig),
		exporterhelper.WithRetry(cfg.BackOffConfig),
		exporterhelper.WithQueue(cfg.QueueConfig),
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
	}
}

// defaultWitnessTimeout bounds one shipment of checkpoint lines to the witness.
const defaultWitnessTimeout = 5 * time.Second

// tickInterval is how often an idle exporter checks whether a checkpoint (or an interval fsync) is due.
const tickInterval = time.Second
