package audittrail

import (
	"os"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// The chain files of a running writer (§2, §8): a new file is created exclusively and locked before the previous
// one is released, then its directory entry is fsynced. Every function here runs under w.mu.

// openAppend opens (or creates) the regular file name of dir for appending.
func openAppend(dir *trailDir, name string) (*os.File, error) {
	return dir.open(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
}

func (w *Writer) rotate() error {
	closed, previous := auditformat.ChainFileName(w.opts.Stream, w.index), w.file
	if err := w.openFile(w.index + 1); err != nil { // the new file is locked before the closed one is released
		return err
	}
	w.fileClosed = false
	crashPoint("rotation-file-created")
	if err := previous.Close(); err != nil {
		return err
	}
	crashPoint("rotation-file-closed")
	w.stats.Rotations++
	if w.compressor != nil {
		w.compressor.submit(w.dir, closed)
	}
	return nil
}

// openFile creates chain file index (exclusively, its directory entry fsynced), locked, and makes it the file
// appended to; the previous file, if any, is left to the caller.
func (w *Writer) openFile(index int) error {
	f, err := w.lockedChainFile(auditformat.ChainFileName(w.opts.Stream, index), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	w.adoptFile(f, index, 0)
	return w.dir.sync()
}

// adoptFile makes f, chain file index opened for appending and locked, of size bytes, the file appended to.
func (w *Writer) adoptFile(f *os.File, index int, size int64) {
	w.file, w.index, w.size, w.day = f, index, size, -1
	w.gen++
	w.syncedSize = w.size
}
