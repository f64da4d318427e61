package audittrail

import (
	"fmt"
	"os"
	"syscall"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// reattachIfDeleted is checked before every append (one fstat): records appended to a chain file whose name was
// removed would vanish with it. When the current chain file was deleted, the writer continues in a new,
// higher-numbered file, in the same directory if it still exists (never following a path that was replaced), else
// in a re-created one, with its checkpoint and lock files re-created if they went too. The new file begins with a
// recovery record (reason files-deleted, §6.2) and its checkpoint, so the chain continues and the verifier reports
// the deleted files as missing-file; nothing acknowledged after the deletion is lost. Called under w.mu.
func (w *Writer) reattachIfDeleted() error {
	if !unlinked(w.file) {
		return nil
	}
	if w.dir.deleted() {
		dir, err := recreateTrailDir(w.opts.Directory)
		if err != nil {
			return err
		}
		w.retiredDirs = append(w.retiredDirs, w.dir)
		w.dir = dir
	}
	files, err := streamFiles(w.dir, w.opts.Stream)
	if err != nil {
		return err
	}
	index := w.index
	for _, cf := range files {
		index = max(index, cf.Index)
	}
	previous := w.file
	if err := w.openFile(index + 1); err != nil {
		return err
	}
	_ = previous.Close()
	if unlinked(w.cpFile) {
		f, err := openAppend(w.dir, auditformat.CheckpointFileName(w.opts.Stream))
		if err != nil {
			return err
		}
		_ = w.cpFile.Close()
		w.cpFile = f
	}
	if unlinked(w.lockFile) {
		f, err := w.dir.open(auditformat.LockFileName(w.opts.Stream), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			return fmt.Errorf("%s: stream %s: %w", w.opts.Directory, w.opts.Stream, ErrStreamBusy)
		}
		_ = w.lockFile.Close()
		w.lockFile = f
	}
	recovery := append([]auditformat.Member{
		str("reason", "files-deleted"), str("torn_bytes", "0"), str("quarantine_file", ""), str("quarantine_sha256", ""),
	}, w.identity...)
	return w.commit([]record{{auditformat.KindRecovery, object(recovery...)}}, "", auditformat.ReasonRecovery, false)
}
