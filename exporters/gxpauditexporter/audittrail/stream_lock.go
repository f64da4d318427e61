package audittrail

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// One writer per stream (docs/audit-format.md §8): the writer holds an exclusive flock on the stream's lock file
// and on its current chain file. Anyone who can write the directory can delete or replace the lock file; the chain
// file a second writer must open to recover is the same file, so a second process that got a fresh lock file is
// still refused while the first one runs. A new chain file is locked before the previous one is released.

// ErrStreamBusy says another writer holds the stream.
var ErrStreamBusy = errors.New("held by another writer")

// acquireStream takes the exclusive flock of the stream's lock file; without a stream id it takes the first free
// "<host>.N" (host reduced to the allowed characters), so a restarted process resumes its own chain.
func acquireStream(dir *trailDir, stream, host string) (*os.File, string, error) {
	candidates := []string{stream}
	if stream == "" {
		var b strings.Builder
		for _, c := range host {
			if c < 0x80 && (c == '.' || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')) {
				b.WriteRune(c)
			} else {
				b.WriteByte('_')
			}
		}
		base := b.String()
		if len(base) > 56 {
			base = base[:56]
		}
		if base == "" {
			base = "host"
		}
		candidates = candidates[:0]
		for n := 0; n < 10_000; n++ {
			candidates = append(candidates, base+"."+strconv.Itoa(n))
		}
	}
	for _, candidate := range candidates {
		f, err := dir.open(auditformat.LockFileName(candidate), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, "", err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				continue
			}
			return nil, "", err
		}
		return f, candidate, nil
	}
	return nil, "", fmt.Errorf("%s: stream %q is held by another writer", dir.path, stream)
}

// lockedChainFile opens chain file name of the trail with flag and takes its flock; another writer holding it
// (its lock file deleted or replaced) is ErrStreamBusy.
func (w *Writer) lockedChainFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := w.dir.open(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w (its lock file was deleted or replaced); refusing to write the stream twice", w.dir.join(name), ErrStreamBusy)
		}
		return nil, err
	}
	return f, nil
}

func closeFile(f *os.File) {
	if f != nil {
		_ = f.Close()
	}
}
