package auditverify_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/audittrail"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditverify"
)

// Issue 14 points 5 and 6 in the Go verifier: whatever a hostile host leaves in the trail directory, verification
// ends, bounded, and says which file and line (docs/audit-format.md §2.1).

const stream = "h.0"

// writeTrail writes a closed stream of n records; with compress, small files rotated and gzipped.
func writeTrail(t *testing.T, n int, compress bool) string {
	t.Helper()
	dir := t.TempDir()
	opts := audittrail.Options{Directory: dir, Stream: stream, Compress: compress}
	if compress {
		opts.RotateBytes = audittrail.MinRotateBytes
	}
	w, err := audittrail.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := w.Append("span", [][]byte{[]byte(`{"n":{"intValue":"` + strconv.Itoa(i) + `"}}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func chainFile(dir string, index int) string {
	return filepath.Join(dir, auditformat.ChainFileName(stream, index))
}

func verify(t *testing.T, dir string, held ...string) *auditverify.Report {
	t.Helper()
	report, err := auditverify.Verify(dir, auditverify.Options{CheckpointFiles: held})
	if err != nil {
		t.Fatal(err)
	}
	return report
}

func show(p auditverify.Problem) string {
	line, seq := "null", "null"
	if p.Line != nil {
		line = strconv.Itoa(*p.Line)
	}
	if p.Seq != nil {
		seq = strconv.FormatInt(*p.Seq, 10)
	}
	return fmt.Sprintf("%s:%s seq=%s %s", p.File, line, seq, p.Kind)
}

// requireProblems checks the report's problems, as "file:line seq=S kind", exactly.
func requireProblems(t *testing.T, report *auditverify.Report, want ...string) {
	t.Helper()
	var got []string
	for _, p := range report.Problems {
		got = append(got, show(p))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || report.OK {
		t.Fatalf("problems:\n%s\nwant:\n%s\n%+v", strings.Join(got, "\n"), strings.Join(want, "\n"), report.Problems)
	}
}

// requireProblem checks that the report has the problem (among others).
func requireProblem(t *testing.T, report *auditverify.Report, want string) {
	t.Helper()
	for _, p := range report.Problems {
		if show(p) == want {
			return
		}
	}
	t.Fatalf("no problem %s in %+v", want, report.Problems)
}

func lineCount(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(data, []byte("\n"))
}

func TestAFIFONamedLikeAChainFileIsAMissingFileAndDoesNotHang(t *testing.T) {
	dir := writeTrail(t, 3, false)
	if err := syscall.Mkfifo(chainFile(dir, 2), 0o600); err != nil {
		t.Fatal(err)
	}
	requireProblems(t, verify(t, dir), "audit-h.0-000002.jsonl:null seq=null missing-file")
}

func TestALinkToDevZeroNamedLikeAChainFileIsAMissingFileAndIsNotRead(t *testing.T) {
	dir := writeTrail(t, 3, false)
	if err := os.Symlink("/dev/zero", chainFile(dir, 2)); err != nil {
		t.Fatal(err)
	}
	requireProblems(t, verify(t, dir), "audit-h.0-000002.jsonl:null seq=null missing-file")
}

func TestACheckpointFileThatIsAFIFOIsABadCheckpointFile(t *testing.T) {
	dir := writeTrail(t, 3, false)
	own := filepath.Join(dir, auditformat.CheckpointFileName(stream))
	if err := os.Remove(own); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(own, 0o600); err != nil {
		t.Fatal(err)
	}
	requireProblems(t, verify(t, dir), "audit-h.0.checkpoints.jsonl:null seq=null bad-checkpoint-file")
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestAGzipBombStopsAtTheDecompressedLimitAsATornLine(t *testing.T) {
	defer auditverify.SetDecompressedLimit(1 << 20)()
	dir := writeTrail(t, 40, true)
	plain := decompressed(t, chainFile(dir, 1)+".gz")
	// The file's own lines, then 8 MiB of zeros and a newline: 8 KiB on disk. Read to its end, the last line would
	// be one malformed line; the limit stops the whole-file check inside it, so none of the file is read (§2.1).
	bomb := gzipped(t, append(append(plain, bytes.Repeat([]byte("0"), 8<<20)...), '\n'))
	if err := os.WriteFile(chainFile(dir, 1)+".gz", bomb, 0o600); err != nil {
		t.Fatal(err)
	}
	requireProblem(t, verify(t, dir), "audit-h.0-000001.jsonl.gz:1 seq=null torn-line")
}

func decompressed(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if _, err := plain.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return plain.Bytes()
}

func TestBytesAfterTheGzipMemberMakeTheFileOneTornLine(t *testing.T) {
	dir := writeTrail(t, 40, true)
	path := chainFile(dir, 1) + ".gz"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plain := decompressed(t, path)
	lines := bytes.Count(plain, []byte("\n"))
	lastLine := plain[bytes.LastIndexByte(plain[:len(plain)-1], '\n')+1:]
	// A second member repeating the last line: a gzip reader in multistream mode would read it as one more line.
	if err := os.WriteFile(path, append(data, gzipped(t, lastLine)...), 0o600); err != nil {
		t.Fatal(err)
	}
	// None of the file is read (§2.1), so the next file's first record is where the stream starts.
	requireProblems(t, verify(t, dir), "audit-h.0-000001.jsonl.gz:1 seq=null torn-line",
		fmt.Sprintf("audit-h.0-000002.jsonl.gz:1 seq=%d bad-genesis", lines))
}

func TestADamagedGzipIsATornLine(t *testing.T) {
	dir := writeTrail(t, 40, true)
	path := chainFile(dir, 1) + ".gz"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	report := verify(t, dir)
	for _, p := range report.Problems {
		if p.File == "audit-h.0-000001.jsonl.gz" && p.Kind == "torn-line" && p.Seq == nil {
			return
		}
	}
	t.Fatalf("a cut .gz is not a torn-line: %+v", report.Problems)
}

// insertLine puts line (without "\n") before line number at (1-based) of a plain chain file.
func insertLine(t *testing.T, path string, at int, line []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	parts := bytes.SplitAfter(data, []byte("\n"))
	var out []byte
	for i, part := range parts {
		if i == at-1 {
			out = append(append(out, line...), '\n')
		}
		out = append(out, part...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestALineLongerThan16MiBIsMalformedAtItsLineAndTheRestIsRead(t *testing.T) {
	dir := writeTrail(t, 5, false)
	insertLine(t, chainFile(dir, 1), 3, bytes.Repeat([]byte("x"), auditverify.MaxLineBytes+1))
	requireProblems(t, verify(t, dir), "audit-h.0-000001.jsonl:3 seq=null malformed")
}

func TestALineOfExactly16MiBIsParsedNotRejectedForItsLength(t *testing.T) {
	dir := writeTrail(t, 5, false)
	insertLine(t, chainFile(dir, 1), 3, bytes.Repeat([]byte("x"), auditverify.MaxLineBytes))
	report := verify(t, dir)
	requireProblems(t, report, "audit-h.0-000001.jsonl:3 seq=null malformed")
	if !strings.Contains(report.Problems[0].Detail, "JSON") {
		t.Fatalf("a line at the limit was rejected for its length: %s", report.Problems[0].Detail)
	}
}

func TestAnOverlongLastLineWithoutNewlineIsATornLine(t *testing.T) {
	dir := writeTrail(t, 5, false)
	lines := lineCount(t, chainFile(dir, 1))
	f, err := os.OpenFile(chainFile(dir, 1), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytes.Repeat([]byte("x"), auditverify.MaxLineBytes+10)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	requireProblems(t, verify(t, dir), fmt.Sprintf("audit-h.0-000001.jsonl:%d seq=null torn-line", lines+1))
}

// An over-long line no longer stops the reading of a checkpoint file: the lines after it still seal the chain, so
// cutting the chain's end is still detected.
func TestAnOverlongCheckpointFileLineDoesNotHideTheLinesAfterIt(t *testing.T) {
	dir := writeTrail(t, 5, false)
	own := filepath.Join(dir, auditformat.CheckpointFileName(stream))
	insertLine(t, own, 1, bytes.Repeat([]byte("x"), auditverify.MaxLineBytes+1))
	path := chainFile(dir, 1)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Drop the last span and the close checkpoint that sealed it, at a line boundary: a chain valid on its own.
	cut := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	cut = bytes.LastIndexByte(data[:cut-1], '\n') + 1
	if err := os.WriteFile(path, data[:cut], 0o600); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Count(data[:cut], []byte("\n")) // seqs 0..lines-1 remain; the close checkpoint sealed seq lines
	requireProblems(t, verify(t, dir),
		fmt.Sprintf("audit-h.0-000001.jsonl:%d seq=%d truncated", lines, lines),
		"audit-h.0.checkpoints.jsonl:1 seq=null bad-checkpoint-file")
}

// appendRecord appends a correctly hashed, canonical record with the given seq and time after the file's last one.
func appendRecord(t *testing.T, path string, seq uint64, recorded string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	last := data[bytes.LastIndexByte(data[:len(data)-1], '\n')+1 : len(data)-1]
	rec, problem, _ := auditformat.CheckLine(last)
	if problem != "" {
		t.Fatal(problem)
	}
	prev, _ := auditformat.ParseHash(rec.Hash)
	line, _ := auditformat.EncodeRecord(nil, auditformat.Envelope{Kind: "span", Stream: stream, Seq: seq, Prev: prev, Time: recorded}, []byte(`{}`))
	if err := os.WriteFile(path, append(data, line...), 0o600); err != nil {
		t.Fatal(err)
	}
	return bytes.Count(data, []byte("\n")) + 1
}

func TestASeqAboveInt64IsMalformedNotWrapped(t *testing.T) {
	dir := writeTrail(t, 3, false)
	at := appendRecord(t, chainFile(dir, 1), 1<<63, "2026-01-01T00:00:00.000000000Z")
	requireProblems(t, verify(t, dir), fmt.Sprintf("audit-h.0-000001.jsonl:%d seq=null malformed", at))
}

func TestATimeThatIsNotOnTheCalendarIsMalformed(t *testing.T) {
	for _, recorded := range []string{"2026-02-30T00:00:00.000000000Z", "2025-02-29T00:00:00.000000000Z",
		"2026-13-01T00:00:00.000000000Z", "2026-01-01T24:00:00.000000000Z", "2026-06-30T23:59:60.000000000Z"} {
		t.Run(recorded, func(t *testing.T) {
			dir := writeTrail(t, 3, false)
			at := appendRecord(t, chainFile(dir, 1), uint64(lineCount(t, chainFile(dir, 1))), recorded)
			requireProblems(t, verify(t, dir), fmt.Sprintf("audit-h.0-000001.jsonl:%d seq=null malformed", at))
		})
	}
}

// A FIFO in place of a stream's only chain file: the file is missing and the stream, which only its checkpoint file
// still names, is missing-stream (nothing was read, so nothing is "truncated").
func TestAFIFOInPlaceOfTheOnlyChainFileIsAMissingStream(t *testing.T) {
	dir := writeTrail(t, 3, false)
	if err := os.Remove(chainFile(dir, 1)); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(chainFile(dir, 1), 0o600); err != nil {
		t.Fatal(err)
	}
	requireProblems(t, verify(t, dir), "audit-h.0-000001.jsonl:null seq=null missing-file",
		"audit-h.0.checkpoints.jsonl:1 seq=null missing-stream")
}
