package audittrail

import "os"

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

// SetCrashPoint makes the writer call hook at each named step of rotation, compression and recovery.
func SetCrashPoint(hook func(step string)) { crashPoint = hook }
