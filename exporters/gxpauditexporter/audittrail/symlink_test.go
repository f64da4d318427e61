package audittrail_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/audittrail"
)

// Issue 14 point 1: a symbolic link planted in the trail directory (by an account that can write it) must never
// make the writer write, truncate or append to the file it points to.

const precious = "precious data of another owner, no newline"

// foreignFile is a file outside the trail that a planted link points to.
func foreignFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "foreign.txt")
	if err := os.WriteFile(path, []byte(precious), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func requireUntouched(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != precious {
		t.Fatalf("the writer wrote through a symbolic link into %s: now %d bytes, %.40q", path, len(data), data)
	}
}

func plant(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestCompressionNeverWritesThroughALinkPlantedAsItsTemporaryFile(t *testing.T) {
	dir, foreign := t.TempDir(), foreignFile(t)
	plant(t, foreign, filepath.Join(dir, auditformat.ChainFileName("crash.0", 1)+".gz.tmp"))
	w, err := audittrail.Open(crashOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	var acked []int
	for i := 0; i < 40; i++ { // rotates at least once, so file 1 is compressed
		if err := w.Append("span", numbered(i)); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, i)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	requireUntouched(t, foreign)
	if _, err := os.Stat(filepath.Join(dir, auditformat.ChainFileName("crash.0", 1)+".gz")); err != nil {
		t.Fatalf("file 1 was not compressed: %v", err)
	}
	requireAllVerified(t, dir, acked)
}

func TestRecoveryRefusesANewestChainFileThatIsALinkAndLeavesItsTargetAlone(t *testing.T) {
	dir, foreign := t.TempDir(), foreignFile(t)
	w, err := audittrail.Open(crashOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	w.Abandon()
	newest := filepath.Join(dir, auditformat.ChainFileName("crash.0", 1))
	if err := os.Remove(newest); err != nil {
		t.Fatal(err)
	}
	plant(t, foreign, newest) // its content looks like a torn line: recovery would cut it and append after it
	if _, err := audittrail.Open(crashOptions(dir)); err == nil {
		t.Fatal("the writer continued a chain file that is a symbolic link")
	}
	requireUntouched(t, foreign)
}

func TestTheWriterRefusesCheckpointAndLockFilesThatAreLinks(t *testing.T) {
	for _, name := range []string{auditformat.CheckpointFileName("crash.0"), auditformat.LockFileName("crash.0")} {
		t.Run(name, func(t *testing.T) {
			dir, foreign := t.TempDir(), foreignFile(t)
			plant(t, foreign, filepath.Join(dir, name))
			if w, err := audittrail.Open(crashOptions(dir)); err == nil {
				w.Close()
				t.Fatalf("the writer opened %s through a symbolic link", name)
			}
			requireUntouched(t, foreign)
		})
	}
}

func TestACheckpointCopyThatIsALinkIsRefused(t *testing.T) {
	dir, copies, foreign := t.TempDir(), t.TempDir(), foreignFile(t)
	plant(t, foreign, filepath.Join(copies, auditformat.CheckpointFileName("crash.0")))
	opts := crashOptions(dir)
	opts.CheckpointCopyDirs = []string{copies}
	if w, err := audittrail.Open(opts); err == nil {
		w.Close()
		t.Fatal("the writer appended its checkpoint copy through a symbolic link")
	}
	requireUntouched(t, foreign)
}

func TestATrailDirectoryReplacedByALinkIsNotFollowedByTheRunningWriter(t *testing.T) {
	parent, elsewhere := t.TempDir(), t.TempDir()
	dir := filepath.Join(parent, "trail")
	w, err := audittrail.Open(crashOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	var acked []int
	appendSome := func(from int) {
		for i := from; i < from+30; i++ { // rotations create, compress and remove files while the link is in place
			if err := w.Append("span", numbered(i)); err != nil {
				t.Fatal(err)
			}
			acked = append(acked, i)
		}
	}
	appendSome(0)
	moved := filepath.Join(parent, "trail.moved")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	plant(t, elsewhere, dir)
	appendSome(100)
	if err := w.Checkpoint("interval"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Fatalf("the writer followed the replaced directory path: %d files written to the link's target", len(entries))
	}
	requireAllVerified(t, moved, acked)
}

// A name planted where the next chain file goes makes the rotation fail (it is created exclusively, never through a
// link). The closed file's rotation records are already durable and copied to the checkpoint file, so they stay;
// once the name is free, the writer continues in the next file and the trail verifies with every acknowledged record.
func TestARotationThatCannotCreateTheNextFileLeavesAVerifiableTrail(t *testing.T) {
	dir, foreign := t.TempDir(), foreignFile(t)
	opts := crashOptions(dir)
	opts.Compress = false
	w, err := audittrail.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	next := filepath.Join(dir, auditformat.ChainFileName("crash.0", 2))
	plant(t, foreign, next)
	var acked []int
	failed := false
	for i := 0; i < 40; i++ {
		if err := w.Append("span", numbered(i)); err != nil {
			failed = true
			if err := os.Remove(next); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			continue // the record was not acknowledged; a gap record names it
		}
		acked = append(acked, i)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !failed {
		t.Fatal("the planted name did not make a rotation fail")
	}
	requireUntouched(t, foreign)
	requireAllVerified(t, dir, acked)
}
