// Written by hand in the shape mdatagen generates from metadata.yaml's telemetry section (mdatagen is not on the
// module proxy); metadata_test.go checks it against metadata.yaml.

package metadata

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
)

// Meter returns the meter of the gxpaudit exporter's own telemetry.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// Observation is one reading of the exporter's cumulative statistics and checkpoint age, for the async
// instruments.
type Observation struct {
	Records, Bytes, Fsyncs, Gaps, Lost, Errors int64
	CheckpointAgeSeconds                       float64
	HasCheckpoint                              bool
}

// TelemetryBuilder holds the instruments of metadata.yaml's telemetry section.
type TelemetryBuilder struct {
	ExporterGxpauditAppendDuration metric.Float64Histogram
	registration                   metric.Registration
}

// NewTelemetryBuilder creates the instruments; observe is called at every collection for the async ones.
func NewTelemetryBuilder(settings component.TelemetrySettings, observe func() Observation) (*TelemetryBuilder, error) {
	m := Meter(settings)
	var errs, err error
	builder := &TelemetryBuilder{}
	builder.ExporterGxpauditAppendDuration, err = m.Float64Histogram("otelcol_exporter_gxpaudit_append_duration",
		metric.WithDescription("Time of one export call's append, from the writer lock to durability (write plus fsync under fsync batch or always)."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
	errs = errors.Join(errs, err)
	counter := func(name, description, unit string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithDescription(description), metric.WithUnit(unit))
		errs = errors.Join(errs, err)
		return c
	}
	records := counter("otelcol_exporter_gxpaudit_records_written", "Records appended to the audit trail (spans, logs and control records), cumulative.", "{record}")
	bytesWritten := counter("otelcol_exporter_gxpaudit_bytes_written", "Bytes appended to the current stream's chain files, cumulative.", "By")
	fsyncs := counter("otelcol_exporter_gxpaudit_fsyncs", "fsync calls on the chain file, cumulative.", "{fsync}")
	gaps := counter("otelcol_exporter_gxpaudit_gap_records", "gap records written (each records spans or logs that never reached the trail), cumulative.", "{record}")
	lost := counter("otelcol_exporter_gxpaudit_lost", "Spans and logs recorded as lost in gap records, cumulative.", "{item}")
	writeErrors := counter("otelcol_exporter_gxpaudit_write_errors", "Failed writes (each noted as a gap and retried by the exporter helper), cumulative.", "{error}")
	age, err := m.Float64ObservableGauge("otelcol_exporter_gxpaudit_checkpoint_age",
		metric.WithDescription("Seconds since the stream's last checkpoint line was written (its checkpoint file's modification time); the window a rollback could hide."),
		metric.WithUnit("s"))
	errs = errors.Join(errs, err)
	if errs != nil {
		return nil, errs
	}
	builder.registration, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		obs := observe()
		o.ObserveInt64(records, obs.Records)
		o.ObserveInt64(bytesWritten, obs.Bytes)
		o.ObserveInt64(fsyncs, obs.Fsyncs)
		o.ObserveInt64(gaps, obs.Gaps)
		o.ObserveInt64(lost, obs.Lost)
		o.ObserveInt64(writeErrors, obs.Errors)
		if obs.HasCheckpoint {
			o.ObserveFloat64(age, obs.CheckpointAgeSeconds)
		}
		return nil
	}, records, bytesWritten, fsyncs, gaps, lost, writeErrors, age)
	return builder, err
}

// Shutdown unregisters the async callback.
func (b *TelemetryBuilder) Shutdown() {
	if b.registration != nil {
		_ = b.registration.Unregister()
	}
}
