package audittrail

import (
	"sort"
	"strconv"
	"time"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// The commit path of the writer (§8): sealing records in seq order, the rotation and checkpoint decisions, and
// writing with rollback to the last durable line. Every function here runs under w.mu.

// commit seals and writes pending gap records, records and any due checkpoint; on an I/O error it rolls back to the
// last durable line. Each record takes exactly one clock reading, when it is sealed, in seq order (§8); a rotation
// record takes the reading that triggered the rotation.
func (w *Writer) commit(records []record, dataKind, checkpointReason string, forceFsync bool) (err error) {
	type state struct {
		seq  int64
		head auditformat.Hash
		size int64
	}
	durable := state{w.seq, w.head, w.size}
	durableData, bufferedData := 0, 0
	buf := w.buf[:0]
	gaps := w.gapRecords()
	var cpBody []byte
	defer func() {
		w.buf = buf[:0]
		if err != nil {
			w.seq, w.head = durable.seq, durable.head
			if w.file.Truncate(durable.size) == nil {
				w.size = durable.size
				w.syncedSize = min(w.syncedSize, w.size)
			}
			w.stats.Errors++
			if dataKind != "" {
				w.noteLossLocked(dataKind+"s", int64(len(records)-durableData), "write failed: "+err.Error(), "")
			}
			err = &WriteError{File: w.path(auditformat.ChainFileName(w.opts.Stream, w.index)), Err: err}
		}
	}()
	if w.fileClosed { // an earlier rotation could not create the next file: nothing more goes into the closed one
		if err = w.rotate(); err != nil {
			return err
		}
		durable = state{w.seq, w.head, w.size}
	}
	all := records
	if len(gaps) > 0 {
		all = append(gaps, records...)
	}
	for position, r := range all {
		now := w.opts.Clock()
		if w.needsRotation(int64(len(buf)), r, now) {
			buf = w.seal(buf, auditformat.KindRotation, w.rotationBody(now), now)
			var rotationCp []byte
			buf, rotationCp = w.checkpointRecord(buf, auditformat.ReasonRotation)
			if err = w.writeOut(buf, true); err != nil {
				return err
			}
			// The closed file's last records are durable: from here on nothing before them is rolled back.
			durable, durableData = state{w.seq, w.head, w.size}, bufferedData
			buf = buf[:0]
			w.fileClosed = true
			crashPoint("rotation-records-written")
			if w.appendCheckpointFile(rotationCp) != nil {
				w.stats.Errors++ // as for any checkpoint: durable in the chain, the next one is copied again
			}
			crashPoint("rotation-checkpoint-copied")
			if err = w.rotate(); err != nil {
				return err
			}
			now = w.opts.Clock()
		}
		buf = w.seal(buf, r.kind, r.body, now)
		if position >= len(gaps) {
			bufferedData++
		}
		if w.opts.Fsync == FsyncAlways {
			if err = w.writeOut(buf, true); err != nil {
				return err
			}
			durable, durableData = state{w.seq, w.head, w.size}, bufferedData
			buf = buf[:0]
		}
	}
	w.recordsSinceCheckpoint += len(records)
	due := checkpointReason
	if due == "" {
		due = w.checkpointDue()
	}
	if due != "" {
		buf, cpBody = w.checkpointRecord(buf, due)
	}
	fsync := w.shouldFsync(forceFsync || due != "" || len(all) > 0)
	if fsync && w.groupCommit && due == "" {
		fsync, w.syncPending = false, true // a checkpoint is fsynced here: it must be durable before its copy
	}
	if err = w.writeOut(buf, fsync); err != nil {
		return err
	}
	if len(gaps) > 0 {
		clear(w.pendingLoss)
	}
	switch dataKind {
	case auditformat.KindSpan:
		w.stats.Spans += int64(len(records))
	case auditformat.KindLog:
		w.stats.Logs += int64(len(records))
	}
	w.stats.Records += int64(len(records))
	w.stats.Gaps += int64(len(gaps))
	if cpBody != nil && w.appendCheckpointFile(cpBody) != nil {
		w.stats.Errors++ // the checkpoint is durable in the chain; the next one is copied again
	}
	return nil
}

// seal appends the line of the next record, stamped at ns, and makes it the head.
func (w *Writer) seal(dst []byte, kind string, body []byte, ns int64) []byte {
	env := auditformat.Envelope{
		Kind: kind, Stream: w.opts.Stream, Seq: uint64(w.seq + 1), Prev: w.head, Time: w.clock.format(ns),
	}
	dst, w.head = w.encoder.Encode(dst, env, body)
	w.seq++
	if kind == auditformat.KindGenesis {
		w.genesisHash = w.head.Hex()
	}
	if w.day < 0 {
		w.day = utcDay(ns)
	}
	return dst
}

// checkpointRecord appends a checkpoint record over the current head and returns its body for the checkpoint file.
func (w *Writer) checkpointRecord(dst []byte, reason string) ([]byte, []byte) {
	now := w.opts.Clock()
	statement := auditformat.Statement{
		Format: w.streamFormat, Stream: w.opts.Stream, Genesis: w.genesisHash, RetentionDays: w.streamRetention,
		Seq: uint64(w.seq), Head: w.head.Hex(),
		File: auditformat.ChainFileName(w.opts.Stream, w.index), Time: auditformat.FormatTime(now), Reason: reason,
	}
	body := auditformat.CheckpointBody(nil, statement, w.opts.SigningKey)
	return w.seal(dst, auditformat.KindCheckpoint, body, now), body
}

func (w *Writer) gapRecords() []record {
	if len(w.pendingLoss) == 0 {
		return nil
	}
	signals := make([]string, 0, len(w.pendingLoss))
	for s := range w.pendingLoss {
		signals = append(signals, s)
	}
	sort.Strings(signals)
	out := make([]record, 0, len(signals))
	for _, s := range signals {
		l := w.pendingLoss[s]
		out = append(out, record{auditformat.KindGap, object(
			str("signal", s), str("count", strconv.FormatInt(l.count, 10)), str("reason", l.reason),
			str("first_time", l.firstTime))})
	}
	return out
}

// recordedTimeShape has the length of every recorded time.
const recordedTimeShape = "2006-01-02T15:04:05.000000000Z"

func (w *Writer) newDay(now int64) bool {
	return w.opts.RotateDaily && w.day >= 0 && utcDay(now) != w.day
}

func (w *Writer) rotationBody(now int64) []byte {
	reason := "size"
	if w.newDay(now) {
		reason = "time"
	}
	return object(str("next_file", auditformat.ChainFileName(w.opts.Stream, w.index+1)), str("reason", reason))
}

// needsRotation applies §8: rotate a non-empty file before a record whose UTC day differs from the file's first
// record's, or whose full line would take the file past the rotation size.
func (w *Writer) needsRotation(pending int64, r record, now int64) bool {
	used := w.size + pending
	if used == 0 || r.kind == auditformat.KindRecovery { // §8: a recovery record goes into the newest file, full or not
		return false
	}
	if w.newDay(now) {
		return true
	}
	env := auditformat.Envelope{Kind: r.kind, Stream: w.opts.Stream, Seq: uint64(w.seq + 1), Time: recordedTimeShape}
	return used+int64(auditformat.LineLength(env, len(r.body))) > w.opts.RotateBytes
}

func (w *Writer) checkpointDue() string {
	if w.recordsSinceCheckpoint <= 0 {
		return ""
	}
	if w.recordsSinceCheckpoint >= w.opts.CheckpointRecords {
		return auditformat.ReasonInterval
	}
	if time.Since(w.lastCheckpoint) >= w.opts.CheckpointInterval {
		return auditformat.ReasonInterval
	}
	return ""
}

func (w *Writer) shouldFsync(wanted bool) bool {
	if !wanted {
		return false
	}
	if w.opts.Fsync != FsyncInterval {
		return true
	}
	return time.Since(w.lastFsync) >= w.opts.FsyncInterval
}

func (w *Writer) writeOut(data []byte, fsync bool) error {
	if len(data) > 0 {
		n, err := w.file.Write(data)
		w.size += int64(n)
		w.stats.Bytes += int64(n)
		if err != nil {
			return err
		}
	}
	if fsync {
		if err := w.file.Sync(); err != nil {
			return err
		}
		w.syncedSize = w.size
		w.lastFsync = time.Now()
		w.stats.Fsyncs++
	}
	return nil
}

func (w *Writer) appendCheckpointFile(body []byte) error {
	line := append(append(make([]byte, 0, len(body)+1), body...), '\n')
	if _, err := w.cpFile.Write(line); err != nil {
		return err
	}
	if err := w.cpFile.Sync(); err != nil {
		return err
	}
	w.lastCheckpoint = time.Now()
	w.recordsSinceCheckpoint = 0
	w.stats.Checkpoints++
	for _, f := range w.cpCopies { // a failed copy does not fail the write: the chain and the local file hold it
		if _, err := f.Write(line); err != nil || f.Sync() != nil {
			w.stats.Errors++
		}
	}
	return nil
}
