package gxpauditexporter

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/internal/metadata"
)

// metadataMetrics are the metric names of metadata.yaml's telemetry section.
func metadataMetrics(t *testing.T) []string {
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	sub, err := cm.Sub("telemetry::metrics")
	require.NoError(t, err)
	names := make([]string, 0)
	for name := range sub.ToStringMap() {
		names = append(names, name)
	}
	require.NotEmpty(t, names)
	return names
}

func TestTheHandWrittenMetadataMatchesMetadataYAML(t *testing.T) {
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	assert.Equal(t, metadata.Type.String(), cm.Get("type"))
	assert.Equal(t, []any{"traces", "logs"}, cm.Get("status::stability::alpha"))
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, name := range metadataMetrics(t) {
		assert.Contains(t, string(readme), "`"+name+"`", "README.md documents every metric")
	}
}

func TestEveryMetricOfMetadataYAMLIsReportedThroughTheCollectorsTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	cfg := testConfig(t)
	cfg.Checkpoint.MaxRecords = 1
	ctx := context.Background()
	te, err := NewFactory().CreateTraces(ctx, set, cfg)
	require.NoError(t, err)
	require.NoError(t, te.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, te.ConsumeTraces(ctx, traces(1, 4)))

	for _, name := range metadataMetrics(t) {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		assert.NotEmpty(t, m.Description, name)
	}
	records, err := tel.GetMetric("otelcol_exporter_gxpaudit_records_written")
	require.NoError(t, err)
	sum := records.Data.(metricdata.Sum[int64])
	assert.GreaterOrEqual(t, sum.DataPoints[0].Value, int64(1+4), "genesis and four spans")
	durations, err := tel.GetMetric("otelcol_exporter_gxpaudit_append_duration")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), durations.Data.(metricdata.Histogram[float64]).DataPoints[0].Count)
	require.NoError(t, te.Shutdown(ctx))
	assert.True(t, strings.HasPrefix(records.Name, "otelcol_exporter_gxpaudit_"))
}
