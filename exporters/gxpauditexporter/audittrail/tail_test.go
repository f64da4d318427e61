package audittrail_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/audittrail"
)

// A torn line of 64 MiB (four times the line limit) at the end of the newest file: the restart reads the tail in one
// backward pass, copies the torn bytes to quarantine without holding them, and the chain continues.
func TestAHugeTornLineIsQuarantinedWholeAndTheChainContinues(t *testing.T) {
	dir := t.TempDir()
	w, err := audittrail.Open(audittrail.Options{Directory: dir, Stream: "crash.0"})
	if err != nil {
		t.Fatal(err)
	}
	acked := []int{0, 1, 2}
	for _, i := range acked {
		if err := w.Append("span", numbered(i)); err != nil {
			t.Fatal(err)
		}
	}
	current := w.CurrentFile()
	w.Abandon()
	torn := bytes.Repeat([]byte("t"), 64<<20)
	f, err := os.OpenFile(current, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(torn); err != nil {
		t.Fatal(err)
	}
	f.Close()
	w, err = audittrail.Open(audittrail.Options{Directory: dir, Stream: "crash.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	requireAllVerified(t, dir, acked)
	quarantined, _ := filepath.Glob(filepath.Join(dir, "*.quarantine-*.bin"))
	if len(quarantined) != 1 {
		t.Fatalf("quarantine files: %v", quarantined)
	}
	data, err := os.ReadFile(quarantined[0])
	if err != nil || !bytes.Equal(data, torn) {
		t.Fatalf("the quarantine file does not hold the torn bytes (%d bytes, %v)", len(data), err)
	}
	sum := sha256.Sum256(torn)
	for _, rec := range allRecords(t, dir) {
		if rec.Kind == auditformat.KindRecovery {
			if got := text(&rec.Body, "quarantine_sha256"); got != hex.EncodeToString(sum[:]) {
				t.Fatalf("recovery record names sha256 %s", got)
			}
			return
		}
	}
	t.Fatal("no recovery record")
}

func TestARecordLongerThanTheLineLimitIsNotWrittenButCountedAsLost(t *testing.T) {
	dir := t.TempDir()
	w, err := audittrail.Open(audittrail.Options{Directory: dir, Stream: "crash.0"})
	if err != nil {
		t.Fatal(err)
	}
	huge := []byte(`{"blob":{"stringValue":"` + strings.Repeat("x", auditformat.MaxLineBytes) + `"}}`)
	if err := w.Append("span", [][]byte{numbered(1)[0], huge}); err != nil {
		t.Fatal(err)
	}
	if err := w.Append("span", numbered(2)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	requireAllVerified(t, dir, []int{1, 2})
	for _, rec := range allRecords(t, dir) {
		if rec.Kind == auditformat.KindGap {
			if text(&rec.Body, "count") != "1" || !strings.Contains(text(&rec.Body, "reason"), "line limit") {
				t.Fatalf("gap record %+v", rec.Body)
			}
			return
		}
	}
	t.Fatal("the over-long record left no gap record")
}

func text(v *auditformat.Value, name string) string {
	m, ok := v.Get(name)
	if !ok {
		return ""
	}
	return m.Str
}
