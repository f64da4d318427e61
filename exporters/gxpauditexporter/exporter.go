package gxpauditexporter

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditbody"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/audittrail"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/internal/metadata"
)

// auditExporter owns one stream writer, shared by the traces and logs exporters created from the same
// configuration: one component id, one stream, one chain.
type auditExporter struct {
	cfg       *Config
	logger    *zap.Logger
	telemetry component.TelemetrySettings

	mu      sync.Mutex
	users   int
	writer  *audittrail.Writer
	stop    chan struct{}
	ticker  sync.WaitGroup
	witness *witnessShipper // nil without checkpoint.witness.endpoint
	metrics *metadata.TelemetryBuilder
	active  atomic.Pointer[audittrail.Writer] // the open writer, for observe (which must not take mu)

	encoders sync.Pool // *bodyBatch
}

var exporters = struct {
	sync.Mutex
	byConfig map[*Config]*auditExporter
}{byConfig: map[*Config]*auditExporter{}}

// sharedExporter returns the exporter of cfg, creating it on first use.
func sharedExporter(cfg *Config, set exporter.Settings) *auditExporter {
	exporters.Lock()
	defer exporters.Unlock()
	e := exporters.byConfig[cfg]
	if e == nil {
		e = &auditExporter{cfg: cfg, logger: set.Logger, telemetry: set.TelemetrySettings}
		e.encoders.New = func() any { return &bodyBatch{} }
		exporters.byConfig[cfg] = e
	}
	return e
}

// start opens the writer on the first Start of the traces or logs exporter: lock, recovery, genesis or recovery
// record. A trail that cannot be continued (§9.3) fails the collector's start.
func (e *auditExporter) start(_ context.Context, _ component.Host) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.users++
	if e.writer != nil {
		return nil
	}
	opts, err := e.cfg.writerOptions()
	if err != nil {
		e.users--
		return err
	}
	w, err := audittrail.Open(opts)
	if err != nil {
		e.users--
		return fmt.Errorf("gxpaudit: %w", err)
	}
	metrics, err := metadata.NewTelemetryBuilder(e.telemetry, e.observe)
	if err != nil {
		_ = w.Close()
		e.users--
		return fmt.Errorf("gxpaudit: telemetry: %w", err)
	}
	e.writer, e.stop, e.metrics = w, make(chan struct{}), metrics
	e.active.Store(w)
	e.ticker.Add(1)
	go e.tick(w, e.stop)
	if e.cfg.Checkpoint.Witness.Endpoint != "" {
		e.witness = newWitnessShipper(e.cfg.Checkpoint.Witness, e.cfg.Directory, w.Stream(), e.logger)
		e.ticker.Add(1)
		go e.witness.run(e.stop, &e.ticker)
	}
	e.logger.Info("audit trail open", zap.String("directory", e.cfg.Directory), zap.String("stream", w.Stream()))
	return nil
}

// shutdown closes the writer at the last Shutdown: a close checkpoint, fsync, the stream released.
func (e *auditExporter) shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.users == 0 {
		return nil
	}
	e.users--
	if e.users > 0 || e.writer == nil {
		return nil
	}
	close(e.stop)
	e.ticker.Wait()
	e.active.Store(nil)
	e.metrics.Shutdown()
	err := e.writer.Close()
	e.writer = nil
	if e.witness != nil { // the close checkpoint; if the witness is down it is re-sent at the next start
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.Checkpoint.Witness.Timeout)
		_ = e.witness.ship(ctx)
		cancel()
		e.witness = nil
	}
	exporters.Lock()
	delete(exporters.byConfig, e.cfg)
	exporters.Unlock()
	return err
}

// tick writes due checkpoints (and interval fsyncs) while no data arrives, so the window a checkpoint does not
// cover stays bounded by the checkpoint interval.
func (e *auditExporter) tick(w *audittrail.Writer, stop <-chan struct{}) {
	defer e.ticker.Done()
	t := time.NewTicker(tickInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if err := w.CheckpointIfDue(); err != nil {
				e.logger.Warn("audit trail checkpoint failed", zap.Error(err))
			}
		}
	}
}

func (e *auditExporter) current() (*audittrail.Writer, *metadata.TelemetryBuilder) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.writer, e.metrics
}

// observe reads the writer's cumulative statistics and the age of its last checkpoint line for the collector's
// own metrics (metadata.yaml); called by the meter at every collection.
func (e *auditExporter) observe() metadata.Observation {
	w := e.active.Load()
	if w == nil {
		return metadata.Observation{}
	}
	st := w.Stats()
	obs := metadata.Observation{Records: st.Records, Bytes: st.Bytes, Fsyncs: st.Fsyncs, Gaps: st.Gaps,
		Lost: st.Lost, Errors: st.Errors}
	if info, err := os.Stat(filepath.Join(e.cfg.Directory, auditformat.CheckpointFileName(w.Stream()))); err == nil {
		obs.HasCheckpoint = true
		obs.CheckpointAgeSeconds = time.Since(info.ModTime()).Seconds()
	}
	return obs
}

// bodyBatch holds the canonical bodies of one export call in one buffer.
type bodyBatch struct {
	enc    auditbody.Encoder
	buf    []byte
	ends   []int
	bodies [][]byte
}

func (e *auditExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	b := e.encoders.Get().(*bodyBatch)
	defer e.encoders.Put(b)
	b.enc.Ingest = appendIngestion(b.enc.Ingest[:0], ctx)
	b.buf, b.ends = b.enc.Traces(b.buf[:0], b.ends[:0], td)
	return e.append(auditformat.KindSpan, b)
}

func (e *auditExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	b := e.encoders.Get().(*bodyBatch)
	defer e.encoders.Put(b)
	b.enc.Ingest = appendIngestion(b.enc.Ingest[:0], ctx)
	b.buf, b.ends = b.enc.Logs(b.buf[:0], b.ends[:0], ld)
	return e.append(auditformat.KindLog, b)
}

// append hands the batch to the writer. An I/O failure is returned as retryable (the helper retries it, and the
// writer has already noted the loss as a gap); a closed writer is permanent.
func (e *auditExporter) append(kind string, b *bodyBatch) error {
	if len(b.ends) == 0 {
		return nil
	}
	w, metrics := e.current()
	if w == nil {
		return consumererror.NewPermanent(errors.New("gxpaudit: the audit trail writer is not open"))
	}
	b.bodies = auditbody.Split(b.bodies[:0], b.buf, b.ends)
	started := time.Now()
	err := w.Append(kind, b.bodies)
	metrics.ExporterGxpauditAppendDuration.Record(context.Background(), time.Since(started).Seconds())
	if errors.Is(err, audittrail.ErrClosed) {
		return consumererror.NewPermanent(err)
	}
	return err
}

// writerOptions turns the configuration into writer options, reading the signing key.
func (cfg *Config) writerOptions() (audittrail.Options, error) {
	opts := audittrail.Options{
		Directory:          cfg.Directory,
		Stream:             cfg.Stream,
		Fsync:              cfg.Fsync,
		FsyncInterval:      cfg.FsyncInterval,
		RotateBytes:        cfg.Rotation.MaxBytes,
		RotateDaily:        cfg.Rotation.Daily,
		Compress:           cfg.Compress,
		CheckpointInterval: cfg.Checkpoint.Interval,
		CheckpointRecords:  cfg.Checkpoint.MaxRecords,
		CheckpointCopyDirs: cfg.Checkpoint.CopyDirs,
		RetentionDays:      cfg.RetentionDays,
	}
	if cfg.SigningKeyFile != "" {
		data, err := os.ReadFile(cfg.SigningKeyFile)
		if err != nil {
			return opts, fmt.Errorf("gxpaudit: signing_key_file: %w", err)
		}
		key, err := auditformat.ParsePrivateKey(data)
		if err != nil {
			return opts, fmt.Errorf("gxpaudit: signing_key_file %s: %w", cfg.SigningKeyFile, err)
		}
		opts.SigningKey = ed25519.PrivateKey(key)
	}
	return opts, nil
}
