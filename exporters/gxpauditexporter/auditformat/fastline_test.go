package auditformat

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sameAsStrict fails when LineChecker.Check and CheckLine disagree on line (problem, detail or envelope).
func sameAsStrict(t *testing.T, c *LineChecker, line []byte) {
	t.Helper()
	want, wp, wd := CheckLine(line)
	got, gp, gd := c.Check(line)
	if gp != wp || gd != wd {
		t.Fatalf("line %q: fast says %q %q, strict %q %q", line, gp, gd, wp, wd)
	}
	if got.Kind != want.Kind || got.Stream != want.Stream || got.Seq != want.Seq || got.Prev != want.Prev ||
		got.Hash != want.Hash || got.Time != want.Time {
		t.Fatalf("line %q: fast record %+v, strict %+v", line, got, want)
	}
	if wp == "" && got.Kind != KindSpan && got.Kind != KindLog { // the strict path: the whole record
		a, _ := AppendCanonical(nil, &got.Body)
		b, _ := AppendCanonical(nil, &want.Body)
		if !bytes.Equal(a, b) {
			t.Fatalf("line %q: bodies differ", line)
		}
	}
}

// vectorLines are the lines of every chain and checkpoint file of the golden and negative vectors.
func vectorLines(t *testing.T) [][]byte {
	var lines [][]byte
	root := filepath.Join("..", "..", "..", "tests", "vectors")
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, ".jsonl") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(l) > 0 {
				lines = append(lines, l)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) < 100 {
		t.Fatalf("only %d vector lines found under %s", len(lines), root)
	}
	return lines
}

func TestLineCheckerEqualsStrictOnVectors(t *testing.T) {
	var c LineChecker
	fast := 0
	for _, l := range vectorLines(t) {
		sameAsStrict(t, &c, l)
		var r Record
		if c.fast(l, &r) {
			fast++
		}
	}
	if fast == 0 {
		t.Fatal("no vector line took the fast path")
	}
}

// Every one-byte change of good span lines — each byte replaced by, or preceded by, bytes that matter to the
// grammar, escapes, ordering and UTF-8 — gets the strict verdict.
func TestLineCheckerEqualsStrictOnMutations(t *testing.T) {
	var c LineChecker
	var spans [][]byte
	for _, l := range vectorLines(t) {
		if r, p, _ := CheckLine(l); p == "" && r.Kind == KindSpan && len(spans) < 3 {
			spans = append(spans, l)
		}
	}
	if len(spans) == 0 {
		t.Fatal("no good span line in the vectors")
	}
	mut := []string{" ", "\"", "\\", "/", "u", "0", "1", "-", "a", "A", "{", "}", "[", "]", ",", ":", "\x00", "\x1f",
		"\x7f", "\xc3", "\xa9", "\xed\xa0\x80", "\xf0\x9f\x98\x80", "\ufeff", "n", "t", "f", "e", "z"}
	for _, l := range spans {
		sameAsStrict(t, &c, l)
		for i := 0; i <= len(l); i++ {
			for _, m := range mut {
				ins := append(append(append([]byte{}, l[:i]...), m...), l[i:]...)
				sameAsStrict(t, &c, ins)
				if i < len(l) {
					rep := append(append(append([]byte{}, l[:i]...), m...), l[i+1:]...)
					sameAsStrict(t, &c, rep)
				}
			}
		}
	}
}

func FuzzLineChecker(f *testing.F) {
	f.Add([]byte(`{"body":{},"hash":"` + strings.Repeat("0", 64) + `","kind":"span","prev":"` + ZeroHash +
		`","seq":"1","stream":"s","time":"2026-01-01T00:00:00.000000000Z"}`))
	f.Add([]byte(`{"body":{"a":"\u001f","b":["x",true,null,{"":"é"}]},"hash":"` + ZeroHash + `","kind":"log","prev":"` +
		ZeroHash + `","seq":"0","stream":"s","time":"2026-01-01T00:00:00.000000000Z"}`))
	good, _ := EncodeRecord(nil, Envelope{Kind: KindSpan, Stream: "s.1", Seq: 12, Time: "2026-02-28T23:59:59.123456789Z"},
		[]byte(`{"a":{"b":[[],{}],"c":"\\\"\b\f\n\r\t\u0000 é😀"},"d":false}`))
	f.Add(good[:len(good)-1])
	f.Fuzz(func(t *testing.T, line []byte) {
		var c LineChecker
		sameAsStrict(t, &c, line)
	})
}

// ValidTime's shape check is TimePattern's: no string the pattern rejects is a valid time.
func TestValidTimeShapeIsTimePattern(t *testing.T) {
	base := "2024-02-29T23:59:59.123456789Z"
	if !ValidTime(base) {
		t.Fatal(base)
	}
	for i := 0; i <= len(base); i++ {
		for _, m := range []string{"0", "9", "-", "T", ":", ".", "Z", "a", " ", "\n", "٣", ""} {
			for _, s := range []string{base[:i] + m + base[i:], base[:i] + m + base[min(i+1, len(base)):]} {
				if ValidTime(s) && !TimePattern.MatchString(s) {
					t.Fatalf("ValidTime(%q) but TimePattern rejects it", s)
				}
			}
		}
	}
}
