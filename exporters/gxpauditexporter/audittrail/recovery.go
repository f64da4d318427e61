package audittrail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// RecoveryError says the newest chain file is damaged beyond one torn line: the writer refuses to continue it and
// leaves the evidence as it is (§9.3).
type RecoveryError struct{ Msg string }

func (e *RecoveryError) Error() string { return e.Msg }

// tail is what recovery learned about the end of the stream.
type tail struct {
	seq              int64 // -1: no record yet
	head             auditformat.Hash
	size             int64 // size of the newest plain file after removing a torn line
	clean            bool  // the last record is a close checkpoint
	needsNewFile     bool  // the newest file is closed (compressed, or ends with its rotation): continue in the next one
	tornBytes        int
	quarantineFile   string
	quarantineSHA256 string
}

// streamFiles lists the stream's chain files in (index, plain before .gz) order.
func streamFiles(dir *trailDir, stream string) ([]auditformat.ChainFile, error) {
	entries, err := dir.readDir()
	if err != nil {
		return nil, err
	}
	var files []auditformat.ChainFile
	for _, e := range entries {
		if cf, ok := auditformat.ParseChainFileName(e.Name()); ok && cf.Stream == stream {
			files = append(files, cf)
		}
	}
	sort.Slice(files, func(i, j int) bool {
		if files[i].Index != files[j].Index {
			return files[i].Index < files[j].Index
		}
		return !files[i].Compressed && files[j].Compressed
	})
	return files, nil
}

// openStream starts the session: genesis for a new stream, else recovery of the newest file and a recovery record
// with its checkpoint.
func (w *Writer) openStream() error {
	files, err := streamFiles(w.dir, w.opts.Stream)
	if err != nil {
		return err
	}
	w.seq, w.head, w.recordsSinceCheckpoint = -1, auditformat.Hash{}, 0
	w.lastCheckpoint = time.Now()
	var t *tail
	var newest *os.File // the newest plain chain file, locked before recovery may truncate it (§8)
	if len(files) > 0 && !files[len(files)-1].Compressed {
		if newest, err = w.lockedChainFile(files[len(files)-1].Plain(), os.O_RDWR|os.O_APPEND, 0); err != nil {
			return err
		}
	}
	if len(files) > 0 {
		if t, err = recoverTail(w.dir, w.opts.Stream, files, newest); err != nil {
			closeFile(newest)
			return err
		}
	}
	if t == nil || t.seq < 0 {
		if newest != nil {
			w.adoptFile(newest, files[len(files)-1].Index, 0)
		} else if err := w.openFile(1); err != nil {
			return err
		}
		w.streamFormat, w.streamRetention = auditformat.FormatVersion, strconv.Itoa(w.opts.RetentionDays)
		genesis := append([]auditformat.Member{
			str("format", auditformat.FormatVersion), str("stream", w.opts.Stream),
			str("retention_days", strconv.Itoa(w.opts.RetentionDays)),
		}, w.identity...)
		return w.commit([]record{{auditformat.KindGenesis, object(genesis...)}}, "", "", true)
	}
	w.seq, w.head = t.seq, t.head
	w.resumeIdentity()
	if t.needsNewFile {
		err = w.openFile(files[len(files)-1].Index + 1) // locked before the newest one is released
		closeFile(newest)
		if err != nil {
			return err
		}
	} else {
		w.adoptFile(newest, files[len(files)-1].Index, t.size)
	}
	if w.compressor != nil {
		closed := files[:len(files)-1]
		if t.needsNewFile {
			closed = files
		}
		for _, cf := range closed {
			if !cf.Compressed && !w.dir.exists(cf.Plain()+".gz") {
				w.compressor.submit(w.dir, cf.Plain())
			}
		}
	}
	reason := "unclean-shutdown"
	if t.clean {
		reason = "clean-restart"
	}
	recovery := append([]auditformat.Member{
		str("reason", reason), str("torn_bytes", strconv.Itoa(t.tornBytes)),
		str("quarantine_file", t.quarantineFile), str("quarantine_sha256", t.quarantineSHA256),
	}, w.identity...)
	return w.commit([]record{{auditformat.KindRecovery, object(recovery...)}}, "", auditformat.ReasonRecovery, false)
}

// resumeIdentity takes a continued stream's version, and for version 2 its genesis hash and retention (§7), from
// the first line of its checkpoint file, else from its genesis record in file 000001; a version 1 stream keeps
// writing version 1 statements.
func (w *Writer) resumeIdentity() {
	w.streamFormat, w.genesisHash, w.streamRetention = auditformat.FormatV1, "", ""
	for _, name := range []string{auditformat.CheckpointFileName(w.opts.Stream), auditformat.ChainFileName(w.opts.Stream, 1)} {
		f, err := w.dir.open(name, os.O_RDONLY, 0)
		if err != nil {
			continue
		}
		head := make([]byte, 1<<16)
		n, _ := io.ReadFull(f, head)
		f.Close()
		first, _, _ := bytes.Cut(head[:n], []byte("\n"))
		v, err := auditformat.ParseJSON(first)
		if err != nil || v.Kind != auditformat.Object {
			continue
		}
		if statement, ok := v.Get("statement"); ok && statement.Kind == auditformat.Object {
			if format, _ := statement.Get("format"); format != nil && format.Str == auditformat.FormatV2 {
				w.streamFormat = auditformat.FormatV2
				w.genesisHash, w.streamRetention = memberString(statement, "genesis"), memberString(statement, "retention_days")
			}
		} else if memberString(&v, "kind") == auditformat.KindGenesis {
			if body, ok := v.Get("body"); ok && memberString(body, "format") == auditformat.FormatV2 {
				w.streamFormat = auditformat.FormatV2
				w.genesisHash, w.streamRetention = memberString(&v, "hash"), memberString(body, "retention_days")
			}
		}
		return
	}
}

func memberString(v *auditformat.Value, name string) string {
	m, ok := v.Get(name)
	if !ok || m.Kind != auditformat.String {
		return ""
	}
	return m.Str
}

// recoverTail finds the last valid record of the stream; a torn final line of the newest file is copied to a
// quarantine file, fsynced, and only then cut from the chain file (§9).
// newestFile is the newest plain file, opened read-write and locked by the caller (nil when the newest is a .gz).
func recoverTail(dir *trailDir, stream string, files []auditformat.ChainFile, newestFile *os.File) (*tail, error) {
	newest := files[len(files)-1]
	if newest.Compressed {
		rec, err := lastRecordOf(dir, newest)
		if err != nil || rec == nil {
			return nil, &RecoveryError{fmt.Sprintf("%s: closed file without a readable last record", dir.join(newest.Name()))}
		}
		return &tail{seq: int64(rec.Seq), head: mustHash(rec.Hash), clean: isClose(rec), needsNewFile: true}, nil
	}
	path := dir.join(newest.Plain())
	info, err := newestFile.Stat()
	if err != nil {
		return nil, err
	}
	size := info.Size()
	newlines, err := newlinesFromEnd(newestFile, size, 3)
	if err != nil {
		return nil, err
	}
	// Line k from the end (0: the last complete line) spans [start(k), newlines[k]).
	start := func(k int) int64 {
		if k+1 < len(newlines) {
			return newlines[k+1] + 1
		}
		return 0
	}
	goodEnd := int64(0) // the end of the last valid line; everything after it is torn
	if len(newlines) > 0 {
		goodEnd = newlines[0] + 1
	}
	var rec *auditformat.Record
	if len(newlines) > 0 {
		if r, problem := readRecord(newestFile, start(0), newlines[0]); problem == "" {
			rec = r
		} else { // a complete-looking but invalid final line is torn too (§9.1)
			goodEnd = start(0)
			if len(newlines) > 1 {
				before, problem := readRecord(newestFile, start(1), newlines[1])
				if problem != "" {
					return nil, &RecoveryError{fmt.Sprintf("%s: the last two lines are invalid (%s); refusing to continue this chain", path, problem)}
				}
				rec = before
			}
		}
	}
	t := &tail{seq: -1}
	if torn := size - goodEnd; torn > 0 {
		afterSeq := uint64(0)
		if rec != nil {
			afterSeq = rec.Seq + 1
		}
		name, sum, err := quarantine(dir, stream, newest.Index, afterSeq, io.NewSectionReader(newestFile, goodEnd, torn))
		if err != nil {
			return nil, err
		}
		crashPoint("recovery-torn-quarantined")
		if err := truncateSync(newestFile, goodEnd); err != nil {
			return nil, err
		}
		crashPoint("recovery-torn-cut")
		t.tornBytes, t.quarantineFile, t.quarantineSHA256 = int(torn), name, sum
	}
	if rec == nil && goodEnd > 0 {
		return nil, &RecoveryError{fmt.Sprintf("%s: no valid record found at the end of the file", path)}
	}
	// A last record of the newest file that ends it (a crash after the rotation, before the next file existed)
	// means the next record goes to the next file; writing it here would rotate this file a second time (§8).
	inNewest := rec != nil
	if rec == nil && len(files) > 1 {
		if rec, err = lastRecordOf(dir, files[len(files)-2]); err != nil {
			return nil, err
		}
	}
	if rec == nil {
		return t, nil
	}
	t.seq, t.head, t.size, t.clean = int64(rec.Seq), mustHash(rec.Hash), goodEnd, isClose(rec)
	t.needsNewFile = inNewest && endsFile(rec)
	return t, nil
}

// newlinesFromEnd returns the offsets of the last (up to) n newlines of f, the last first. It reads backwards once,
// in fixed chunks: linear in the bytes scanned and constant in memory, however long the torn line at the end.
func newlinesFromEnd(f *os.File, size int64, n int) ([]int64, error) {
	var out []int64
	chunk := make([]byte, 1<<16)
	for end := size; end > 0 && len(out) < n; {
		from := max(0, end-int64(len(chunk)))
		piece := chunk[:end-from]
		if _, err := f.ReadAt(piece, from); err != nil && err != io.EOF {
			return nil, err
		}
		for i := len(piece) - 1; i >= 0 && len(out) < n; i-- {
			if piece[i] == '\n' {
				out = append(out, from+int64(i))
			}
		}
		end = from
	}
	return out, nil
}

// readRecord parses the line [from, to) of f (without its newline): the record, or why it is not a valid one. A
// line longer than the limit every reader applies (§2.1) is not read.
func readRecord(f *os.File, from, to int64) (*auditformat.Record, string) {
	if to-from > auditformat.MaxLineBytes {
		return nil, "a line longer than the limit"
	}
	line := make([]byte, to-from)
	if _, err := f.ReadAt(line, from); err != nil && err != io.EOF {
		return nil, err.Error()
	}
	rec, problem, _ := auditformat.CheckLine(line)
	if problem != "" {
		return nil, problem
	}
	return &rec, ""
}

// lastRecordOf parses the last complete line of a chain file (plain or gzip), read within the reading limits
// (§2.1); nil when it has none. A file whose end cannot be read (an over-long last line, a damaged or over-large
// .gz) is a RecoveryError: the writer does not guess where its chain ends.
func lastRecordOf(dir *trailDir, cf auditformat.ChainFile) (*auditformat.Record, error) {
	f, err := dir.open(cf.Name(), os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var last []byte
	var unreadable *auditformat.LineProblem
	_, err = auditformat.EachLine(f, cf.Compressed, auditformat.MaxDecompressedBytes, func(_ int, raw []byte, problem *auditformat.LineProblem) {
		switch {
		case problem != nil:
			unreadable = problem
		case raw[len(raw)-1] == '\n':
			last, unreadable = append(last[:0], raw[:len(raw)-1]...), nil
		}
	})
	if err != nil {
		return nil, err
	}
	if unreadable != nil {
		return nil, &RecoveryError{fmt.Sprintf("%s: its end cannot be read: %s", dir.join(cf.Name()), unreadable.Detail)}
	}
	if last == nil {
		return nil, nil
	}
	rec, problem, detail := auditformat.CheckLine(last)
	if problem == auditformat.ProblemMalformed {
		return nil, &RecoveryError{fmt.Sprintf("%s: last record is malformed: %s", dir.join(cf.Name()), detail)}
	}
	return &rec, nil
}

func isClose(rec *auditformat.Record) bool { return checkpointReason(rec) == auditformat.ReasonClose }

// endsFile says the record closes its file: the rotation record, or the rotation checkpoint after it.
func endsFile(rec *auditformat.Record) bool {
	return rec.Kind == auditformat.KindRotation || checkpointReason(rec) == auditformat.ReasonRotation
}

// checkpointReason is the statement's reason of a checkpoint record, "" for any other record.
func checkpointReason(rec *auditformat.Record) string {
	if rec.Kind != auditformat.KindCheckpoint {
		return ""
	}
	statement, ok := rec.Body.Get("statement")
	if !ok {
		return ""
	}
	reason, ok := statement.Get("reason")
	if !ok || reason.Kind != auditformat.String {
		return ""
	}
	return reason.Str
}

func mustHash(s string) auditformat.Hash {
	h, _ := auditformat.ParseHash(s)
	return h
}

// quarantine copies the torn bytes to a new quarantine file (never overwriting one), fsyncs it and the directory,
// and returns its name and the bytes' hex SHA-256.
func quarantine(dir *trailDir, stream string, index int, seq uint64, data io.Reader) (string, string, error) {
	base := auditformat.QuarantineFileName(stream, index, seq)
	name := base
	var f *os.File
	for n := 2; ; n++ {
		var err error
		f, err = dir.createExclusive(name)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", "", err
		}
		name = strings.TrimSuffix(base, ".bin") + "." + strconv.Itoa(n) + ".bin"
	}
	digest := sha256.New()
	_, err := io.Copy(io.MultiWriter(f, digest), data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", "", err
	}
	return name, hex.EncodeToString(digest.Sum(nil)), dir.sync()
}

// truncateSync cuts the file to size and fsyncs it.
func truncateSync(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}
