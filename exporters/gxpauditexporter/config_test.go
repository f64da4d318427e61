package gxpauditexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.MustNewIDWithName(metadata.Type.String(), name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestDefaultConfigIsValidOnceTheDirectoryIsSet(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, confmap.New().Unmarshal(cfg))
	assert.EqualError(t, cfg.Validate(), "directory must be set")
	cfg.Directory = t.TempDir()
	assert.NoError(t, cfg.Validate())
}

func TestConfigDefaultsApplyToUnsetKeys(t *testing.T) {
	cfg, err := loadConfig(t, "defaults")
	require.NoError(t, err)
	want := NewFactory().CreateDefaultConfig().(*Config)
	want.Directory = "/var/lib/gxp-otel/audit"
	assert.Equal(t, want, cfg)
}

func TestConfigReadsEveryKey(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	want := NewFactory().CreateDefaultConfig().(*Config)
	want.Directory = "/var/lib/gxp-otel/audit"
	want.Stream = "gateway.a"
	want.Fsync = "interval"
	want.FsyncInterval = 250 * time.Millisecond
	want.Rotation = RotationConfig{MaxBytes: 1_000_000, Daily: false}
	want.Compress = false
	want.SigningKeyFile = "/etc/gxp-otel/checkpoint-key.pem"
	want.Checkpoint = CheckpointConfig{Interval: 10 * time.Second, MaxRecords: 500, CopyDirs: []string{"/mnt/worm/gxp-audit"},
		Witness: WitnessConfig{Endpoint: "http://witness.internal:4329/v1/checkpoints", Timeout: 3 * time.Second}}
	want.RetentionDays = 3650
	want.TimeoutConfig.Timeout = 2 * time.Second
	want.BackOffConfig.Enabled = false
	queue := want.QueueConfig.GetOrInsertDefault()
	queue.NumConsumers = 4
	queue.QueueSize = 100
	assert.Equal(t, want, cfg)
}

func TestInvalidConfigsNameTheirField(t *testing.T) {
	for name, message := range map[string]string{
		"no_directory":   "directory must be set",
		"bad_stream":     `stream "gateway-a" must match [A-Za-z0-9._]{1,64}`,
		"bad_fsync":      `fsync must be one of batch, always, interval, not "sometimes"`,
		"small_rotation": "rotation.max_bytes must be at least 4096, not 100",
		"bad_checkpoint": "checkpoint.interval must be positive, not 0s\ncheckpoint.max_records must be positive, not -1",
		"bad_witness": `checkpoint.witness.endpoint "witness.internal:4329" must be an http(s) URL` +
			"\ncheckpoint.witness.timeout must be positive, not 0s",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			assert.Equal(t, message, err.Error())
		})
	}
}

func TestUnknownKeysAreRejected(t *testing.T) {
	_, err := loadConfig(t, "typo")
	require.ErrorContains(t, err, "has invalid keys: fsyncc")
}
