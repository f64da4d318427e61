package audittrail_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/audittrail"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditverify"
)

// Records acknowledged after the trail's files (or its whole directory) were deleted under the running writer are
// not lost: the writer continues in the next file of a re-created directory with a files-deleted recovery record,
// and the verifier reports exactly the deleted files, never VERIFIED.
func TestRecordsAfterTheTrailWasDeletedUnderTheWriterAreKept(t *testing.T) {
	for _, whole := range []bool{false, true} {
		name := "chain-file"
		if whole {
			name = "directory"
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "trail")
			opts := crashOptions(dir)
			opts.Compress = false // no background compression racing the deletion
			w, err := audittrail.Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 30; i++ { // several files, so the deleted ones are 000001..k
				if err := w.Append("span", numbered(i)); err != nil {
					t.Fatal(err)
				}
			}
			if whole {
				err = os.RemoveAll(dir)
			} else {
				err = os.Remove(w.CurrentFile())
			}
			if err != nil {
				t.Fatal(err)
			}
			var acked []int
			for i := 100; i < 110; i++ {
				if err := w.Append("span", numbered(i)); err != nil {
					t.Fatal(err)
				}
				acked = append(acked, i)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			recovered := false
			for _, rec := range allRecords(t, dir) {
				recovered = recovered || (rec.Kind == auditformat.KindRecovery && text(&rec.Body, "reason") == "files-deleted")
			}
			if !recovered {
				t.Fatal("no files-deleted recovery record")
			}
			report, err := auditverify.Verify(dir, auditverify.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if report.OK {
				t.Fatal("a trail whose files were deleted verified")
			}
			missing := 0
			for _, p := range report.Problems {
				switch p.Kind {
				case "missing-file":
					missing++
				case "bad-genesis": // only when file 000001 went too: the first present record is the recovery
				default:
					t.Fatalf("unexpected problem %+v", p)
				}
			}
			if missing == 0 {
				t.Fatalf("the deleted files are not reported: %+v", report.Problems)
			}
			requireAcked(t, dir, acked)
		})
	}
}

func requireAcked(t *testing.T, dir string, acked []int) {
	t.Helper()
	seen := map[string]bool{}
	for _, rec := range allRecords(t, dir) {
		if rec.Kind == auditformat.KindSpan {
			n, _ := rec.Body.Get("n")
			value, _ := n.Get("intValue")
			seen[value.Str] = true
		}
	}
	for _, n := range acked {
		if !seen[strconv.Itoa(n)] {
			t.Fatalf("acknowledged record %d is not in the trail", n)
		}
	}
}
