package audittrail_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/audittrail"
)

const secondWriterEnv = "GXPAUDIT_SECOND_WRITER_DIR"

// TestSecondWriterChild is the second process: it tries to open the stream, and says whether it could.
func TestSecondWriterChild(t *testing.T) {
	dir := os.Getenv(secondWriterEnv)
	if dir == "" {
		t.Skip("run by the lock tests only")
	}
	w, err := audittrail.Open(crashOptions(dir))
	if err != nil {
		fmt.Printf("refused: %v\n", err)
		return
	}
	_ = w.Append("span", numbered(9999))
	_ = w.Close()
	fmt.Println("opened")
}

func secondWriter(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondWriterChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), secondWriterEnv+"="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("second writer: %v\n%s", err, out)
	}
	return string(out)
}

// Issue 14 point 7: deleting (or replacing) the lock file must not let a second process write the same stream.
func TestASecondProcessIsRefusedEvenAfterTheLockFileWasDeleted(t *testing.T) {
	for _, replace := range []bool{false, true} {
		t.Run(fmt.Sprintf("replaced=%v", replace), func(t *testing.T) {
			dir := t.TempDir()
			w, err := audittrail.Open(crashOptions(dir))
			if err != nil {
				t.Fatal(err)
			}
			var acked []int
			for i := 0; i < 30; i++ { // rotates: the lock follows the current chain file
				if err := w.Append("span", numbered(i)); err != nil {
					t.Fatal(err)
				}
				acked = append(acked, i)
			}
			lock := filepath.Join(dir, auditformat.LockFileName("crash.0"))
			if err := os.Remove(lock); err != nil {
				t.Fatal(err)
			}
			if replace {
				if err := os.WriteFile(lock, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if out := secondWriter(t, dir); !strings.HasPrefix(out, "refused: ") || !strings.Contains(out, "held by another writer") {
				t.Fatalf("a second process took the stream: %s", out)
			}
			for i := 30; i < 35; i++ {
				if err := w.Append("span", numbered(i)); err != nil {
					t.Fatal(err)
				}
				acked = append(acked, i)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			requireAllVerified(t, dir, acked)
			if out := secondWriter(t, dir); !strings.HasPrefix(out, "opened") { // after close, a restart works
				t.Fatalf("restart after close refused: %s", out)
			}
		})
	}
}
