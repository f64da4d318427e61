// Written by hand in the shape mdatagen generates from metadata.yaml (mdatagen cannot be run with `go run`).

// Package metadata holds the component type, scope name and stability levels of the gxpaudit exporter.
package metadata

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

var (
	Type      = component.MustNewType("gxpaudit")
	ScopeName = "github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter"
)

const (
	TracesStability = component.StabilityLevelAlpha
	LogsStability   = component.StabilityLevelAlpha
)

// NewDefaultSendingQueueConfig returns the sending queue default declared in metadata.yaml.
func NewDefaultSendingQueueConfig() configoptional.Optional[exporterhelper.QueueBatchConfig] {
	cfg := exporterhelper.NewDefaultQueueConfig()
	batchCfg := *cfg.Batch.GetOrInsertDefault()
	cfg.Batch = configoptional.Default(batchCfg)
	return configoptional.Default(cfg)
}
