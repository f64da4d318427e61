package audittrail_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditbody"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/audittrail"
)

// vectorDir holds the language-neutral test vectors (tests/vectors/README.md).
const vectorDir = "../../../tests/vectors"

type goldenVector struct {
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

// vectorClock reads start + i*step at its i-th call: one reading per record, across sessions.
type vectorClock struct{ next, step int64 }

func (c *vectorClock) now() int64 {
	v := c.next
	c.next += c.step
	return v
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("bad integer %q", s)
	}
	return n
}

func openVectorWriter(t *testing.T, dir string, params map[string]string, clock *vectorClock) *audittrail.Writer {
	t.Helper()
	opts := audittrail.Options{
		Directory: dir, Stream: params["stream"], WriterName: params["writer"], Host: params["host"],
		PID: int(atoi(t, params["pid"])), ConfigFingerprint: params["config_fingerprint"],
		RetentionDays: int(atoi(t, params["retention_days"])), RotateBytes: atoi(t, params["rotate_bytes"]),
		RotateDaily: params["rotate_daily"] == "true", CheckpointInterval: 1e9 * time.Second,
		CheckpointRecords: 1e9, Clock: clock.now,
	}
	if seed := params["signing_key_seed"]; seed != "" {
		raw, err := hex.DecodeString(seed)
		if err != nil {
			t.Fatal(err)
		}
		opts.SigningKey = ed25519.NewKeyFromSeed(raw)
	}
	w, err := audittrail.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func spanBodies(t *testing.T, otlp []byte) [][]byte {
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(otlp)
	if err != nil {
		t.Fatal(err)
	}
	var e auditbody.Encoder
	var out [][]byte
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		res := e.Resource(rs.Resource(), rs.SchemaUrl())
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			scope := e.Scope(ss.Scope(), ss.SchemaUrl())
			for k := 0; k < ss.Spans().Len(); k++ {
				out = append(out, e.Span(nil, res, scope, ss.Spans().At(k)))
			}
		}
	}
	return out
}

func logBodies(t *testing.T, otlp []byte) [][]byte {
	ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(otlp)
	if err != nil {
		t.Fatal(err)
	}
	var e auditbody.Encoder
	var out [][]byte
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		res := e.Resource(rl.Resource(), rl.SchemaUrl())
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			scope := e.Scope(sl.Scope(), sl.SchemaUrl())
			for k := 0; k < sl.LogRecords().Len(); k++ {
				out = append(out, e.Log(nil, res, scope, sl.LogRecords().At(k)))
			}
		}
	}
	return out
}

func field(t *testing.T, step map[string]json.RawMessage, name string) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(step[name], &s); err != nil {
		t.Fatalf("step member %s: %v", name, err)
	}
	return s
}

// runVector plays a golden vector's steps against the Go writer in dir, as tests/vector_runner.py does for Python.
func runVector(t *testing.T, v *goldenVector, dir string) {
	clock := &vectorClock{atoi(t, v.Clock.StartNs), atoi(t, v.Clock.StepNs)}
	w := openVectorWriter(t, dir, v.Writer, clock)
	closed := false
	for _, step := range v.Steps {
		switch op := field(t, step, "op"); op {
		case "spans":
			if err := w.Append("span", spanBodies(t, step["otlp"])); err != nil {
				t.Fatal(err)
			}
		case "logs":
			if err := w.Append("log", logBodies(t, step["otlp"])); err != nil {
				t.Fatal(err)
			}
		case "checkpoint":
			reason := "interval"
			if _, ok := step["reason"]; ok {
				reason = field(t, step, "reason")
			}
			if err := w.Checkpoint(reason); err != nil {
				t.Fatal(err)
			}
		case "gap":
			w.NoteLossAt(field(t, step, "signal"), atoi(t, field(t, step, "count")), field(t, step, "reason"),
				atoi(t, field(t, step, "first_time_ns")))
		case "flush":
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		case "close":
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			closed = true
		case "crash":
			w.Abandon()
			closed = true
		case "append_raw":
			f, err := os.OpenFile(w.CurrentFile(), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.WriteString(field(t, step, "bytes"))
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
		case "reopen":
			w, closed = openVectorWriter(t, dir, v.Writer, clock), false
		default:
			t.Fatalf("unknown vector op %q", op)
		}
	}
	if !closed {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGoldenVectorsGiveByteIdenticalFiles(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(vectorDir, "golden", "*.json"))
	if len(paths) == 0 {
		t.Fatalf("no golden vectors under %s", vectorDir)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var v goldenVector
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			runVector(t, &v, dir)
			entries, _ := os.ReadDir(dir)
			got := map[string]string{}
			for _, e := range entries {
				if !strings.HasSuffix(e.Name(), ".lock") {
					data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
					got[e.Name()] = string(data)
				}
			}
			for name, want := range v.Expected.Files {
				if got[name] != want {
					t.Errorf("%s differs:\n%s", name, firstDifference(got[name], want))
				}
			}
			for name := range got {
				if _, ok := v.Expected.Files[name]; !ok {
					t.Errorf("unexpected file %s", name)
				}
			}
		})
	}
}

// firstDifference shows the first differing line of two file texts.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got  " + gl + "\n want " + wl
		}
	}
	return "(same lines)"
}
