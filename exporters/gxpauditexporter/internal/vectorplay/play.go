// Package vectorplay plays the steps of a golden test vector (tests/vectors/README.md) against the Go writer, as
// tests/vector_runner.py does against the Python one, so both can be compared file by file.
package vectorplay

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditbody"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/audittrail"
)

// Vector is a golden vector.
type Vector struct {
	Description string            `json:"description"`
	Writer      map[string]string `json:"writer"`
	Clock       struct {
		StartNs string `json:"start_ns"`
		StepNs  string `json:"step_ns"`
	} `json:"clock"`
	Steps    []map[string]json.RawMessage `json:"steps"`
	Expected struct {
		Files map[string]string `json:"files"`
	} `json:"expected"`
}

// clock reads start + i*step at its i-th call: one reading per record, across sessions.
type clock struct{ next, step int64 }

func (c *clock) now() int64 {
	v := c.next
	c.next += c.step
	return v
}

// Play runs v's steps in dir; a run ends with close if the last step left the writer open.
func Play(v *Vector, dir string) error {
	start, err := strconv.ParseInt(v.Clock.StartNs, 10, 64)
	if err != nil {
		return fmt.Errorf("clock.start_ns: %w", err)
	}
	step, err := strconv.ParseInt(v.Clock.StepNs, 10, 64)
	if err != nil {
		return fmt.Errorf("clock.step_ns: %w", err)
	}
	c := &clock{start, step}
	w, err := open(dir, v.Writer, c)
	if err != nil {
		return err
	}
	isOpen := true
	for i, s := range v.Steps {
		var op string
		if err := json.Unmarshal(s["op"], &op); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
		if err := play(op, s, &w, &isOpen, dir, v.Writer, c); err != nil {
			return fmt.Errorf("step %d (%s): %w", i, op, err)
		}
	}
	if isOpen {
		return w.Close()
	}
	return nil
}

func play(op string, s map[string]json.RawMessage, w **audittrail.Writer, isOpen *bool, dir string,
	params map[string]string, c *clock) error {
	text := func(name string) string {
		var out string
		_ = json.Unmarshal(s[name], &out)
		return out
	}
	switch op {
	case "spans":
		bodies, err := spanBodies(s["otlp"])
		if err != nil {
			return err
		}
		return (*w).Append("span", bodies)
	case "logs":
		bodies, err := logBodies(s["otlp"])
		if err != nil {
			return err
		}
		return (*w).Append("log", bodies)
	case "checkpoint":
		reason := "interval"
		if _, ok := s["reason"]; ok {
			reason = text("reason")
		}
		return (*w).Checkpoint(reason)
	case "gap":
		count, err1 := strconv.ParseInt(text("count"), 10, 64)
		first, err2 := strconv.ParseInt(text("first_time_ns"), 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("bad count or first_time_ns")
		}
		(*w).NoteLossAt(text("signal"), count, text("reason"), first)
	case "flush":
		return (*w).Flush()
	case "close":
		*isOpen = false
		return (*w).Close()
	case "crash":
		*isOpen = false
		(*w).Abandon()
	case "append_raw":
		f, err := os.OpenFile((*w).CurrentFile(), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteString(text("bytes"))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	case "reopen":
		reopened, err := open(dir, params, c)
		if err != nil {
			return err
		}
		*w, *isOpen = reopened, true
	default:
		return fmt.Errorf("unknown vector op %q", op)
	}
	return nil
}

func open(dir string, params map[string]string, c *clock) (*audittrail.Writer, error) {
	number := func(name, fallback string) int64 {
		text := params[name]
		if text == "" {
			text = fallback
		}
		n, _ := strconv.ParseInt(text, 10, 64)
		return n
	}
	opts := audittrail.Options{
		Directory: dir, Stream: params["stream"], WriterName: params["writer"], Host: params["host"],
		PID: int(number("pid", "0")), ConfigFingerprint: params["config_fingerprint"],
		RetentionDays: int(number("retention_days", "2555")), RotateBytes: number("rotate_bytes", "50000000"),
		RotateDaily: params["rotate_daily"] == "true", CheckpointInterval: 1e9 * time.Second,
		CheckpointRecords: 1e9, Clock: c.now,
	}
	if seed := params["signing_key_seed"]; seed != "" {
		raw, err := hex.DecodeString(seed)
		if err != nil || len(raw) != ed25519.SeedSize {
			return nil, fmt.Errorf("signing_key_seed: not 32 bytes of hex")
		}
		opts.SigningKey = ed25519.NewKeyFromSeed(raw)
	}
	return audittrail.Open(opts)
}

func spanBodies(otlp []byte) ([][]byte, error) {
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(otlp)
	if err != nil {
		return nil, err
	}
	var e auditbody.Encoder
	buf, ends := e.Traces(nil, nil, td)
	return auditbody.Split(nil, buf, ends), nil
}

func logBodies(otlp []byte) ([][]byte, error) {
	ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(otlp)
	if err != nil {
		return nil, err
	}
	var e auditbody.Encoder
	buf, ends := e.Logs(nil, nil, ld)
	return auditbody.Split(nil, buf, ends), nil
}

// Files reads every file of a trail directory but lock files, by name, as the vectors' expected files are given.
func Files(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".lock") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = string(data)
	}
	return out, nil
}
