package audittrail

import (
	"errors"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("audit trail writer is closed")

// WriteError says records could not be made durable. They were rolled back, counted as lost, and a gap record will
// name them at the next successful write.
type WriteError struct {
	File string
	Err  error
}

func (e *WriteError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// Stats are the writer's counters since it was opened.
type Stats struct {
	Records, Spans, Logs, Bytes, Fsyncs, Checkpoints, Rotations, Gaps, Lost, Errors int64
}

// Writer appends records to one stream. All methods are safe for concurrent use: sequencing, hashing and appending
// happen under one mutex, so any number of callers produce one well-ordered chain.
type Writer struct {
	opts        Options
	identity    []auditformat.Member // writer, host, pid, config_fingerprint, key_id, public_key
	dir         *trailDir            // the trail directory, held open: a replaced path is never followed
	copyDirs    []*trailDir          // the checkpoint copy directories, held open likewise
	retiredDirs []*trailDir          // trail directories deleted under the writer (closed at release)

	mu                     sync.Mutex
	closed                 bool
	lockFile, cpFile, file *os.File
	cpCopies               []*os.File
	index                  int
	size                   int64
	day                    int64 // UTC day of the file's first record sealed in this session; -1 before it
	seq                    int64 // -1 before genesis
	head                   auditformat.Hash
	streamFormat           string // the stream's version, from its genesis (§7)
	genesisHash            string // the stream's identity, named by version 2 statements
	streamRetention        string // the genesis record's retention_days, named by version 2 statements
	recordsSinceCheckpoint int
	lastCheckpoint         time.Time // monotonic readings: intervals never use the record clock
	lastFsync              time.Time
	pendingLoss            map[string]*loss
	compressor             *compressor
	buf                    []byte
	clock                  timeCache
	encoder                auditformat.RecordEncoder
	gen                    uint64 // incremented for every file opened
	syncedSize             int64  // the current file is durable up to here
	groupCommit            bool   // set by Append: a batch fsync may be left to syncTo
	syncPending            bool   // the last commit left its fsync to syncTo
	fileClosed             bool   // the current file ends with its rotation records; the next file is not there yet
	syncMu                 sync.Mutex
	stats                  Stats
}

type loss struct {
	count     int64
	reason    string
	firstTime string
}

// record is one record to seal: its kind and canonical body.
type record struct {
	kind string
	body []byte
}

// Open opens (or starts) the stream in opts.Directory: it takes the stream's lock, recovers the newest file if the
// stream exists (§9) and writes the first record of the session (genesis, or recovery with its checkpoint).
func Open(opts Options) (*Writer, error) {
	if err := opts.applyDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Directory, 0o700); err != nil {
		return nil, err
	}
	dir, err := openTrailDir(opts.Directory)
	if err != nil {
		return nil, err
	}
	w := &Writer{opts: opts, pendingLoss: map[string]*loss{}, dir: dir}
	lockFile, stream, err := acquireStream(dir, opts.Stream, opts.Host)
	if err != nil {
		dir.close()
		return nil, err
	}
	w.lockFile, w.opts.Stream = lockFile, stream
	if w.opts.ConfigFingerprint == "" {
		w.opts.ConfigFingerprint = w.opts.fingerprint()
	}
	w.identity = []auditformat.Member{
		str("writer", w.opts.WriterName), str("host", w.opts.Host), str("pid", strconv.Itoa(w.opts.PID)),
		str("config_fingerprint", w.opts.ConfigFingerprint), str("key_id", w.opts.keyID()),
		str("public_key", w.opts.publicKeyHex()),
	}
	if opts.Compress {
		w.compressor = newCompressor()
	}
	w.cpFile, err = openAppend(dir, auditformat.CheckpointFileName(stream))
	for _, path := range opts.CheckpointCopyDirs {
		if err != nil {
			break
		}
		var copyDir *trailDir
		if err = os.MkdirAll(path, 0o700); err == nil {
			copyDir, err = openTrailDir(path)
		}
		if err == nil {
			w.copyDirs = append(w.copyDirs, copyDir)
			var f *os.File
			if f, err = openAppend(copyDir, auditformat.CheckpointFileName(stream)); err == nil {
				w.cpCopies = append(w.cpCopies, f)
			}
		}
	}
	if err == nil {
		err = w.openStream()
	}
	if err != nil {
		w.release()
		return nil, err
	}
	return w, nil
}

// Stream is the stream id this writer holds.
func (w *Writer) Stream() string { return w.opts.Stream }

// CurrentFile is the path of the chain file being appended to.
func (w *Writer) CurrentFile() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.path(auditformat.ChainFileName(w.opts.Stream, w.index))
}

// Stats returns a copy of the counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Append seals one record per body (kind "span" or "log"; bodies canonical JSON) and returns after they are
// written and fsynced per the policy, as one group commit.
func (w *Writer) Append(kind string, bodies [][]byte) error {
	records := make([]record, 0, len(bodies))
	tooLong := int64(0)
	for _, b := range bodies {
		// No line may exceed the readers' limit (§2.1): such a record is not written but counted as lost, so a gap
		// record names it; +256 bytes bounds the envelope.
		if len(b)+256 > auditformat.MaxLineBytes {
			tooLong++
			continue
		}
		records = append(records, record{kind, b})
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	if tooLong > 0 {
		w.noteLossLocked(kind+"s", tooLong, "record longer than the 16 MiB line limit", "")
	}
	if err := w.reattachIfDeleted(); err != nil {
		w.stats.Errors++
		w.noteLossLocked(kind+"s", int64(len(records)), "the chain file was deleted and could not be re-created: "+err.Error(), "")
		w.mu.Unlock()
		return &WriteError{File: w.path(auditformat.ChainFileName(w.opts.Stream, w.index)), Err: err}
	}
	w.groupCommit = w.opts.Fsync == FsyncBatch
	err := w.commit(records, kind, "", false)
	w.groupCommit = false
	gen, end, needSync := w.gen, w.size, w.syncPending
	w.syncPending = false
	w.mu.Unlock()
	if err != nil || !needSync {
		return err
	}
	return w.syncTo(gen, end)
}

// syncTo makes the current file durable up to offset end of file generation gen (group commit, §8 "batch"):
// the fsync runs outside the writer's lock, and one fsync covers every append written before it started. Closing
// and rotating fsync the file themselves first, so a file they replaced needs nothing more.
func (w *Writer) syncTo(gen uint64, end int64) error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	if w.closed || w.gen != gen || w.syncedSize >= end {
		w.mu.Unlock()
		return nil
	}
	f, target := w.file, w.size
	w.mu.Unlock()
	err := f.Sync()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.gen != gen {
		return nil
	}
	if err != nil {
		w.stats.Errors++
		return &WriteError{File: w.path(auditformat.ChainFileName(w.opts.Stream, w.index)), Err: err}
	}
	w.syncedSize = max(w.syncedSize, target)
	w.lastFsync = time.Now()
	w.stats.Fsyncs++
	return nil
}

// NoteLossAt records that count spans or logs never reached the writer, the first of them at firstNs (Unix
// nanoseconds); a gap record follows at the next write.
func (w *Writer) NoteLossAt(signal string, count int64, reason string, firstNs int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.noteLossLocked(signal, count, reason, auditformat.FormatTime(firstNs))
}

// Checkpoint writes a checkpoint now, into the chain and then into the checkpoint file.
func (w *Writer) Checkpoint(reason string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	return w.commit(nil, "", reason, false)
}

// CheckpointIfDue writes pending gap records and a checkpoint when one is due by interval, and under the interval
// fsync policy fsyncs when that interval has passed. Callers run it periodically while no data arrives.
func (w *Writer) CheckpointIfDue() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	return w.commit(nil, "", "", w.opts.Fsync == FsyncInterval)
}

// Flush writes pending gap records and fsyncs: afterwards every appended record is on stable storage.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	return w.commit(nil, "", "", true)
}

// Close ends the session with a close checkpoint, fsyncs, waits for background compression and releases the
// stream. It is idempotent.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	err := w.commit(nil, "", auditformat.ReasonClose, false)
	w.closed = true
	w.release()
	w.mu.Unlock()
	return err
}

// Abandon drops the writer as a crash would: files closed and the stream released, without a close checkpoint.
// For tests and the vector tools; a collector never calls it.
func (w *Writer) Abandon() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		w.release()
	}
}

func (w *Writer) release() {
	for _, f := range append([]*os.File{w.file, w.cpFile}, w.cpCopies...) {
		if f != nil {
			_ = f.Close()
		}
	}
	if w.lockFile != nil {
		_ = syscall.Flock(int(w.lockFile.Fd()), syscall.LOCK_UN)
		_ = w.lockFile.Close()
	}
	if w.compressor != nil {
		w.compressor.close()
	}
	for _, d := range append(append([]*trailDir{w.dir}, w.copyDirs...), w.retiredDirs...) {
		d.close()
	}
}

// path is the path of a file of the trail, for messages: files are opened through w.dir, never by this path.
func (w *Writer) path(name string) string { return w.dir.join(name) }

func (w *Writer) noteLossLocked(signal string, count int64, reason, firstTime string) {
	entry := w.pendingLoss[signal]
	if entry == nil {
		if firstTime == "" {
			firstTime = auditformat.FormatTime(time.Now().UnixNano())
		}
		entry = &loss{reason: reason, firstTime: firstTime}
		w.pendingLoss[signal] = entry
	}
	entry.count += count
	w.stats.Lost += count
}

func utcDay(ns int64) int64 {
	day := ns / 86_400_000_000_000
	if ns < 0 && ns%86_400_000_000_000 != 0 {
		day--
	}
	return day
}

func str(name, value string) auditformat.Member {
	return auditformat.Member{Name: name, Value: auditformat.Value{Kind: auditformat.String, Str: value}}
}

// object is the canonical JSON of an object of string members.
func object(members ...auditformat.Member) []byte {
	v := auditformat.Value{Kind: auditformat.Object, Members: members}
	out, _ := auditformat.AppendCanonical(nil, &v)
	return out
}

// timeCache formats recorded times, reusing the "YYYY-MM-DDTHH:MM:SS." part while the second does not change.
// format's string is a view of the cache's buffer, valid until its next call (seal uses it at once): one string
// allocation fewer per record.
type timeCache struct {
	second int64
	prefix string
	out    []byte
}

func (c *timeCache) format(ns int64) string {
	second, nanos := ns/1e9, ns%1e9
	if nanos < 0 {
		second, nanos = second-1, nanos+1e9
	}
	if c.prefix == "" || second != c.second {
		full := auditformat.FormatTime(second * 1e9)
		c.second, c.prefix = second, full[:len(full)-len("000000000Z")]
	}
	c.out = append(c.out[:0], c.prefix...)
	var digits [9]byte
	for i := 8; i >= 0; i-- {
		digits[i] = byte('0' + nanos%10)
		nanos /= 10
	}
	c.out = append(c.out, digits[:]...)
	c.out = append(c.out, 'Z')
	return unsafe.String(unsafe.SliceData(c.out), len(c.out))
}
