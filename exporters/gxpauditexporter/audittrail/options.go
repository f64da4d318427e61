// Package audittrail is the Go writer of a gxp-otel audit trail stream (docs/audit-format.md §2, §4-§9): it
// sequences, hashes and appends records under one lock, makes them durable per the fsync policy, writes signed
// checkpoints, rotates and compresses files, recovers from crashes and never deletes anything.
//
// Its decisions (when to rotate, when a checkpoint is due, which clock reading stamps which record) follow the
// Python AuditTrailWriter step for step, so that the same inputs and clock give byte-identical files.
package audittrail

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// Fsync policies (§8).
const (
	FsyncBatch    = "batch"
	FsyncAlways   = "always"
	FsyncInterval = "interval"
)

// Defaults of §7 and §8.
const (
	DefaultRotateBytes        = 50 * 1000 * 1000
	DefaultRetentionDays      = 2555
	DefaultCheckpointInterval = 60 * time.Second
	DefaultCheckpointRecords  = 10_000
	DefaultFsyncInterval      = time.Second
	MinRotateBytes            = 4096
)

// Options configure a Writer. The zero value of a field means its default, except the booleans.
type Options struct {
	Directory          string
	Stream             string // "" takes the first free "<host>.N"
	Fsync              string // batch (default), always, interval
	FsyncInterval      time.Duration
	RotateBytes        int64
	RotateDaily        bool
	Compress           bool
	SigningKey         ed25519.PrivateKey // nil: unsigned checkpoints
	CheckpointInterval time.Duration
	CheckpointRecords  int
	// CheckpointCopyDirs each receive a copy of the checkpoint file, line by line as it grows: put them on storage
	// the trail's own directory does not share (a WORM mount, another host), for `verify --checkpoints`.
	CheckpointCopyDirs []string
	RetentionDays      int
	Clock              func() int64 // Unix nanoseconds; time.Now by default
	Host               string       // os.Hostname by default
	PID                int          // os.Getpid by default
	WriterName         string       // "gxpaudit-go/<version>" by default
	ConfigFingerprint  string       // computed from the options by default
}

// Version is the writer's version, recorded in genesis and recovery records.
const Version = "0.1.0"

func (o *Options) applyDefaults() error {
	if o.Fsync == "" {
		o.Fsync = FsyncBatch
	}
	if o.Fsync != FsyncBatch && o.Fsync != FsyncAlways && o.Fsync != FsyncInterval {
		return fmt.Errorf("fsync must be one of batch, always, interval, not %q", o.Fsync)
	}
	if o.Stream != "" && !auditformat.ValidStream(o.Stream) {
		return fmt.Errorf("stream %q must match %s", o.Stream, auditformat.StreamPattern)
	}
	if o.FsyncInterval == 0 {
		o.FsyncInterval = DefaultFsyncInterval
	}
	if o.RotateBytes == 0 {
		o.RotateBytes = DefaultRotateBytes
	}
	if o.RotateBytes < MinRotateBytes {
		return fmt.Errorf("rotate bytes must be at least %d", MinRotateBytes)
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = DefaultCheckpointInterval
	}
	if o.CheckpointRecords == 0 {
		o.CheckpointRecords = DefaultCheckpointRecords
	}
	if o.RetentionDays == 0 {
		o.RetentionDays = DefaultRetentionDays
	}
	if o.Clock == nil {
		o.Clock = func() int64 { return time.Now().UnixNano() }
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.WriterName == "" {
		o.WriterName = "gxpaudit-go/" + Version
	}
	return nil
}

func (o *Options) keyID() string {
	if o.SigningKey == nil {
		return auditformat.UnsignedKeyID
	}
	return auditformat.KeyID(o.SigningKey.Public().(ed25519.PublicKey))
}

func (o *Options) publicKeyHex() string {
	if o.SigningKey == nil {
		return ""
	}
	return hex.EncodeToString(o.SigningKey.Public().(ed25519.PublicKey))
}

// fingerprint is the hex SHA-256 of the canonical JSON of the effective configuration, with the same members the
// Python writer uses, so equal settings give equal fingerprints in both.
func (o *Options) fingerprint() string {
	cfg := auditformat.Value{Kind: auditformat.Object}
	add := func(name, value string) {
		cfg.Members = append(cfg.Members, auditformat.Member{Name: name, Value: auditformat.Value{Kind: auditformat.String, Str: value}})
	}
	add("format", auditformat.FormatVersion)
	add("fsync", o.Fsync)
	add("fsync_interval_ms", strconv.FormatInt(o.FsyncInterval.Milliseconds(), 10))
	add("rotate_bytes", strconv.FormatInt(o.RotateBytes, 10))
	add("rotate_daily", strconv.FormatBool(o.RotateDaily))
	add("compress", strconv.FormatBool(o.Compress))
	add("checkpoint_interval_ms", strconv.FormatInt(o.CheckpointInterval.Milliseconds(), 10))
	add("checkpoint_records", strconv.Itoa(o.CheckpointRecords))
	add("retention_days", strconv.Itoa(o.RetentionDays))
	add("key_id", o.keyID())
	text, _ := auditformat.AppendCanonical(nil, &cfg)
	sum := sha256.Sum256(text)
	return hex.EncodeToString(sum[:])
}
