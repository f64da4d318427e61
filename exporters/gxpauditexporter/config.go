package gxpauditexporter

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/audittrail"
)

// Config is the gxpaudit exporter's configuration. Every stream setting of docs/audit-format.md §8 has a key; the
// queue, retry and timeout are the exporterhelper's.
type Config struct {
	// Directory is the trail directory (required). Created with mode 0700 when absent.
	Directory string `mapstructure:"directory"`
	// Stream is this writer's stream id ([A-Za-z0-9._]{1,64}); empty takes the first free "<host>.N".
	// Two collectors sharing a directory need distinct streams.
	Stream string `mapstructure:"stream"`
	// Fsync is the durability policy: batch (one fsync per export call), always (per record) or interval.
	Fsync string `mapstructure:"fsync"`
	// FsyncInterval bounds the time between fsyncs under the interval policy.
	FsyncInterval time.Duration `mapstructure:"fsync_interval"`
	// Rotation closes a chain file by size and by UTC day. Nothing is ever deleted.
	Rotation RotationConfig `mapstructure:"rotation"`
	// Compress gzips closed chain files in the background.
	Compress bool `mapstructure:"compress"`
	// SigningKeyFile is an Ed25519 private key (PKCS #8 PEM, or 64 hex digits of the seed) that signs
	// checkpoints; empty writes unsigned checkpoints, which protect against accidents only.
	SigningKeyFile string `mapstructure:"signing_key_file"`
	// Checkpoint says how often a checkpoint is written besides rotation, recovery and close.
	Checkpoint CheckpointConfig `mapstructure:"checkpoint"`
	// RetentionDays is recorded in the genesis record; informative, nothing is deleted automatically.
	RetentionDays int `mapstructure:"retention_days"`

	TimeoutConfig exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	QueueConfig   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	BackOffConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RotationConfig closes the current chain file before a record that would take it past MaxBytes, or whose UTC
// day differs from the file's first record's when Daily is set.
type RotationConfig struct {
	MaxBytes int64 `mapstructure:"max_bytes"`
	Daily    bool  `mapstructure:"daily"`
}

// CheckpointConfig: a checkpoint follows any write that ends at least Interval after the previous checkpoint or
// MaxRecords records after it. CopyDirs each receive a copy of the checkpoint file as it grows (a WORM mount,
// another host), for `verify --checkpoints`.
type CheckpointConfig struct {
	Interval   time.Duration `mapstructure:"interval"`
	MaxRecords int           `mapstructure:"max_records"`
	CopyDirs   []string      `mapstructure:"copy_dirs"`
	// Witness ships every checkpoint line, as it is made, to a checkpoint witness (`gxp-otel witness`,
	// docs/audit-format.md §7.1) on another account or host; empty Endpoint ships nothing.
	Witness WitnessConfig `mapstructure:"witness"`
}

// WitnessConfig: Endpoint is the witness's URL (http://host:port/v1/checkpoints); Timeout bounds one shipment.
type WitnessConfig struct {
	Endpoint string        `mapstructure:"endpoint"`
	Timeout  time.Duration `mapstructure:"timeout"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without touching the file system; every message names its field.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Directory == "" {
		errs = append(errs, errors.New("directory must be set"))
	}
	if cfg.Stream != "" && !auditformat.ValidStream(cfg.Stream) {
		errs = append(errs, fmt.Errorf("stream %q must match [A-Za-z0-9._]{1,64}", cfg.Stream))
	}
	switch cfg.Fsync {
	case audittrail.FsyncBatch, audittrail.FsyncAlways, audittrail.FsyncInterval:
	default:
		errs = append(errs, fmt.Errorf("fsync must be one of batch, always, interval, not %q", cfg.Fsync))
	}
	if cfg.FsyncInterval <= 0 {
		errs = append(errs, fmt.Errorf("fsync_interval must be positive, not %s", cfg.FsyncInterval))
	}
	if cfg.Rotation.MaxBytes < audittrail.MinRotateBytes {
		errs = append(errs, fmt.Errorf("rotation.max_bytes must be at least %d, not %d", audittrail.MinRotateBytes, cfg.Rotation.MaxBytes))
	}
	if cfg.Checkpoint.Interval <= 0 {
		errs = append(errs, fmt.Errorf("checkpoint.interval must be positive, not %s", cfg.Checkpoint.Interval))
	}
	if cfg.Checkpoint.MaxRecords <= 0 {
		errs = append(errs, fmt.Errorf("checkpoint.max_records must be positive, not %d", cfg.Checkpoint.MaxRecords))
	}
	for i, dir := range cfg.Checkpoint.CopyDirs {
		if dir == "" {
			errs = append(errs, fmt.Errorf("checkpoint.copy_dirs[%d] must not be empty", i))
		}
	}
	if w := cfg.Checkpoint.Witness; w.Endpoint != "" {
		if u, err := url.Parse(w.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("checkpoint.witness.endpoint %q must be an http(s) URL", w.Endpoint))
		}
		if w.Timeout <= 0 {
			errs = append(errs, fmt.Errorf("checkpoint.witness.timeout must be positive, not %s", w.Timeout))
		}
	}
	if cfg.RetentionDays <= 0 {
		errs = append(errs, fmt.Errorf("retention_days must be positive, not %d", cfg.RetentionDays))
	}
	return errors.Join(errs...)
}
