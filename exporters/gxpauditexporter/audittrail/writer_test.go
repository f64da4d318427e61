package audittrail_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/audittrail"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditverify"
)

func openWriter(t *testing.T, dir string) *audittrail.Writer {
	t.Helper()
	w, err := audittrail.Open(audittrail.Options{Directory: dir, Stream: "unit.0"})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func bodies(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(`{"n":{"intValue":"` + string(rune('0'+i%10)) + `"}}`)
	}
	return out
}

func records(t *testing.T, dir string) []auditformat.Record {
	t.Helper()
	var out []auditformat.Record
	files, _ := filepath.Glob(filepath.Join(dir, "audit-unit.0-*.jsonl"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			rec, problem, detail := auditformat.CheckLine([]byte(line))
			if problem != "" {
				t.Fatalf("%s: %s: %s", f, problem, detail)
			}
			out = append(out, rec)
		}
	}
	return out
}

func requireVerified(t *testing.T, dir string) {
	t.Helper()
	report, err := auditverify.Verify(dir, auditverify.Options{})
	if err != nil || !report.OK {
		t.Fatalf("trail does not verify: %v %+v", err, report)
	}
}

func TestAFailedWriteIsRolledBackAndRecordedAsAGapBeforeTheRetriedRecords(t *testing.T) {
	dir := t.TempDir()
	w := openWriter(t, dir)
	if err := w.Append("span", bodies(2)); err != nil {
		t.Fatal(err)
	}
	w.BreakFile()
	err := w.Append("span", bodies(3))
	var writeErr *audittrail.WriteError
	if !errors.As(err, &writeErr) {
		t.Fatalf("want a WriteError, got %v", err)
	}
	w.RepairFile()
	if err := w.Append("span", bodies(3)); err != nil { // the collector's retry of the same batch
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var gap *auditformat.Record
	for _, rec := range records(t, dir) {
		kinds = append(kinds, rec.Kind)
		if rec.Kind == "gap" {
			gap = &rec
		}
	}
	if got := strings.Join(kinds, ","); got != "genesis,span,span,gap,span,span,span,checkpoint" {
		t.Fatalf("records: %s", got)
	}
	signal, _ := gap.Body.Get("signal")
	count, _ := gap.Body.Get("count")
	reason, _ := gap.Body.Get("reason")
	if signal.Str != "spans" || count.Str != "3" || !strings.HasPrefix(reason.Str, "write failed") {
		t.Fatalf("gap body: %+v", gap.Body.Members)
	}
	if s := w.Stats(); s.Errors != 1 || s.Lost != 3 || s.Spans != 5 {
		t.Fatalf("stats %+v", s)
	}
	requireVerified(t, dir)
}

func TestASecondWriterCannotTakeAHeldStream(t *testing.T) {
	dir := t.TempDir()
	w := openWriter(t, dir)
	defer w.Close()
	if _, err := audittrail.Open(audittrail.Options{Directory: dir, Stream: "unit.0"}); err == nil {
		t.Fatal("a second writer opened the held stream")
	}
	other, err := audittrail.Open(audittrail.Options{Directory: dir}) // auto id: the first free <host>.N
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if other.Stream() == "unit.0" || !auditformat.ValidStream(other.Stream()) {
		t.Fatalf("auto stream id %q", other.Stream())
	}
}

func TestRecoveryRefusesAFileDamagedBeyondOneTornLine(t *testing.T) {
	dir := t.TempDir()
	w := openWriter(t, dir)
	if err := w.Append("span", bodies(3)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "audit-unit.0-000001.jsonl")
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	lines[len(lines)-2] = "not json" // the last two lines: more than one torn line
	lines[len(lines)-1] = "{also not json"
	damaged := strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(path, []byte(damaged), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := audittrail.Open(audittrail.Options{Directory: dir, Stream: "unit.0"})
	var refusal *audittrail.RecoveryError
	if !errors.As(err, &refusal) {
		t.Fatalf("want a RecoveryError, got %v", err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != damaged {
		t.Fatal("the evidence was changed")
	}
	if quarantined, _ := filepath.Glob(filepath.Join(dir, "*.quarantine-*")); len(quarantined) != 0 {
		t.Fatalf("quarantine written before refusing: %v", quarantined)
	}
}

func TestRotationNeverDeletesAndTheChainContinuesAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	w, err := audittrail.Open(audittrail.Options{Directory: dir, Stream: "unit.0", RotateBytes: 4096, Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if err := w.Append("log", [][]byte{[]byte(`{"payload":{"stringValue":"` + strings.Repeat("x", 900) + `"}}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	gz, _ := filepath.Glob(filepath.Join(dir, "audit-unit.0-*.jsonl.gz"))
	if len(gz) < 4 {
		t.Fatalf("expected several compressed files, got %v", gz)
	}
	for i, name := range gz {
		if want := auditformat.ChainFileName("unit.0", i+1) + ".gz"; filepath.Base(name) != want {
			t.Fatalf("file %d is %s, want %s (a file went missing)", i, filepath.Base(name), want)
		}
	}
	requireVerified(t, dir)
}

func TestACheckpointCopyElsewhereDetectsARolledBackDirectory(t *testing.T) {
	trail, worm := t.TempDir(), filepath.Join(t.TempDir(), "worm")
	open := func() *audittrail.Writer {
		w, err := audittrail.Open(audittrail.Options{Directory: trail, Stream: "unit.0", CheckpointCopyDirs: []string{worm}})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := open()
	if err := w.Append("span", bodies(2)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	snapshot := map[string][]byte{}
	entries, _ := os.ReadDir(trail)
	for _, e := range entries {
		snapshot[e.Name()], _ = os.ReadFile(filepath.Join(trail, e.Name()))
	}
	w = open()
	if err := w.Append("span", bodies(3)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(worm, "audit-unit.0.checkpoints.jsonl")
	local, _ := os.ReadFile(filepath.Join(trail, "audit-unit.0.checkpoints.jsonl"))
	copied, _ := os.ReadFile(copyPath)
	if string(copied) != string(local) || strings.Count(string(copied), "\n") != 3 {
		t.Fatalf("the copy differs from the checkpoint file:\n%s\n%s", copied, local)
	}
	for name, data := range snapshot { // roll the whole directory back to the end of the first session
		if err := os.WriteFile(filepath.Join(trail, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	requireVerified(t, trail) // the directory alone looks intact
	report, err := auditverify.Verify(trail, auditverify.Options{CheckpointFiles: []string{copyPath}})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, p := range report.Problems {
		kinds = append(kinds, p.Kind)
	}
	if strings.Join(kinds, ",") != "truncated" {
		t.Fatalf("problems %v", kinds)
	}
}

func TestTheTrailIsPrivateToItsOwner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "trail")
	w, err := audittrail.Open(audittrail.Options{Directory: dir, Stream: "unit.0", RotateBytes: 4096, Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		if err := w.Append("log", [][]byte{[]byte(`{"payload":{"stringValue":"` + strings.Repeat("y", 900) + `"}}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, _ := e.Info(); info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", e.Name(), info.Mode().Perm())
		}
	}
}
