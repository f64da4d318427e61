package audittrail

import "syscall"

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
