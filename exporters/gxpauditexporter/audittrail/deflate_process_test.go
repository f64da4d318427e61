package audittrail

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// chainLike is n lines shaped like records, for compressing.
func chainLike(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		b.WriteString(`{"body":{"attributes":{"gxp.workflow.run_id":{"stringValue":"run-`)
		b.WriteString(strconv.Itoa(i % 97))
		b.WriteString(`"}}},"hash":"00","kind":"span","seq":"`)
		b.WriteString(strconv.Itoa(i))
		b.WriteString("\"}\n")
	}
	return b.Bytes()
}

// compressed makes a plain file of data in a trail directory, compresses it and returns the .gz's content.
func compressed(t *testing.T, data []byte) []byte {
	t.Helper()
	path := t.TempDir()
	if err := os.WriteFile(filepath.Join(path, "audit-s.0-000001.jsonl"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	dir, err := openTrailDir(path)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.close()
	if err := compressFile(dir, "audit-s.0-000001.jsonl"); err != nil {
		t.Fatal(err)
	}
	if dir.exists("audit-s.0-000001.jsonl") || dir.exists("audit-s.0-000001.jsonl.gz.tmp") {
		t.Fatal("the plain or the temporary file is left beside the .gz")
	}
	gz, err := os.ReadFile(filepath.Join(path, "audit-s.0-000001.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	return gz
}

func gunzip(t *testing.T, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTheDeflateProcessGzipsTheFileAsTheWriterWould(t *testing.T) {
	data := chainLike(20_000)
	var here bytes.Buffer
	if err := gzipStream(&here, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	gz := compressed(t, data)
	if !bytes.Equal(gz, here.Bytes()) {
		t.Fatal("the child's .gz differs from the in-process encoding of the same file")
	}
	if !bytes.Equal(gunzip(t, gz), data) {
		t.Fatal("the .gz does not hold the plain file")
	}
	in, out := filepath.Join(t.TempDir(), "in"), filepath.Join(t.TempDir(), "out")
	_ = os.WriteFile(in, data, 0o600)
	fin, _ := os.Open(in)
	defer fin.Close()
	fout, _ := os.OpenFile(out, os.O_RDWR|os.O_CREATE, 0o600)
	defer fout.Close()
	if err := deflateInChild(fin, fout, int64(len(data))); err != nil {
		t.Fatalf("the child process did not compress: %v", err)
	}
}

func TestAFailedDeflateProcessFallsBackToTheWriterProcess(t *testing.T) {
	saved := deflateExecutable
	deflateExecutable = filepath.Join(t.TempDir(), "no-such-executable")
	defer func() { deflateExecutable = saved }()
	data := chainLike(5_000)
	if !bytes.Equal(gunzip(t, compressed(t, data)), data) {
		t.Fatal("the fallback's .gz does not hold the plain file")
	}
}

func TestOutputThatIsNotAGzipMemberOfTheFileSizeIsRefused(t *testing.T) {
	data := chainLike(1_000)
	var good bytes.Buffer
	if err := gzipStream(&good, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"truncated": good.Bytes()[:good.Len()-3], "empty": nil, "not gzip": bytes.Repeat([]byte{'x'}, 64),
		"other size": append(append([]byte{}, good.Bytes()[:good.Len()-4]...), 0, 0, 0, 0),
	} {
		f, err := os.Create(filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(content); err != nil {
			t.Fatal(err)
		}
		if err := checkGzipMember(f, int64(len(data))); !errors.Is(err, errBadMember) {
			t.Errorf("%s: got %v, want errBadMember", name, err)
		}
		f.Close()
	}
	f, _ := os.Create(filepath.Join(t.TempDir(), "out"))
	defer f.Close()
	_, _ = f.Write(good.Bytes())
	if err := checkGzipMember(f, int64(len(data))); err != nil {
		t.Fatalf("the good member was refused: %v", err)
	}
}
