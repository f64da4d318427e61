package audittrail

import (
	"os"
	"syscall"
)

// Abandon drops the writer as a crash would: files closed and the stream released, without a close checkpoint.
func (w *Writer) Abandon() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	_ = w.file.Close()
	_ = w.cpFile.Close()
	_ = syscall.Flock(int(w.lockFile.Fd()), syscall.LOCK_UN)
	_ = w.lockFile.Close()
	if w.compressor != nil {
		w.compressor.close()
	}
}

// BreakFile swaps the chain file for a read-only handle, so the next write fails as on a broken disk.
func (w *Writer) BreakFile() {
	w.mu.Lock()
	defer w.mu.Unlock()
	name := w.file.Name()
	_ = w.file.Close()
	w.file, _ = os.Open(name)
}

// RepairFile reopens the chain file for appending.
func (w *Writer) RepairFile() {
	w.mu.Lock()
	defer w.mu.Unlock()
	name := w.file.Name()
	_ = w.file.Close()
	w.file, _ = os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
}
