package auditformat

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// jcsVectorDir is the RFC 8785 conformance data shipped beside the repository (see its README).
const jcsVectorDir = "../../../../shared/vectors/jcs"

func requireVectors(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(jcsVectorDir); err != nil {
		t.Skipf("RFC 8785 vectors not present at %s", jcsVectorDir)
	}
}

func TestCanonicalMatchesRFC8785ConformanceFiles(t *testing.T) {
	requireVectors(t)
	inputs, err := filepath.Glob(filepath.Join(jcsVectorDir, "input", "*.json"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(jcsVectorDir, "output", filepath.Base(in)))
			if err != nil {
				t.Fatal(err)
			}
			v, err := ParseJSON(src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := AppendCanonical(nil, &v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestDoublesFormatLikeECMAScript(t *testing.T) {
	requireVectors(t)
	f, err := os.Open(filepath.Join(jcsVectorDir, "numbers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	n := 0
	for scanner.Scan() {
		bitsHex, want, ok := strings.Cut(scanner.Text(), ",")
		if !ok {
			continue
		}
		raw, err := hex.DecodeString(strings.Repeat("0", 16-len(bitsHex)) + bitsHex)
		if err != nil {
			t.Fatalf("bad line %q", scanner.Text())
		}
		value := math.Float64frombits(binary.BigEndian.Uint64(raw))
		if got := FormatDouble(value); got != want {
			t.Errorf("%s: got %s want %s", bitsHex, got, want)
		}
		n++
	}
	if n < 20000 {
		t.Fatalf("only %d numbers checked", n)
	}
}

func TestNonFiniteAndNegativeZeroDoubles(t *testing.T) {
	for value, want := range map[float64]string{
		math.NaN(): "NaN", math.Inf(1): "Infinity", math.Inf(-1): "-Infinity", math.Copysign(0, -1): "0",
		1e21: "1e+21", 1e20: "100000000000000000000", 1e-7: "1e-7", 1.5e-6: "0.0000015", -12.5: "-12.5",
	} {
		if got := FormatDouble(value); got != want {
			t.Errorf("FormatDouble(%v) = %s, want %s", value, got, want)
		}
	}
}

func TestStringEscapesOnlyWhatJCSRequires(t *testing.T) {
	got := string(AppendString(nil, "a\"\\\b\f\n\r\t\x00\x1f\x7f/é😂"))
	want := `"a\"\\\b\f\n\r\t\u0000\u001f` + "\x7f/é😂\""
	if got != want {
		t.Fatalf("got %s want %s", got, want)
	}
}

func TestKeysSortByUTF16CodeUnits(t *testing.T) {
	// U+1F602 is D83D DE02 in UTF-16, so it sorts before U+FB33 although its UTF-8 bytes sort after.
	if CompareKeys("😂", "\ufb33") >= 0 {
		t.Fatal("astral character must sort before U+FB33")
	}
	if CompareKeys("a", "b") >= 0 || CompareKeys("ab", "a") <= 0 || CompareKeys("x", "x") != 0 {
		t.Fatal("ASCII order broken")
	}
}

func TestInvalidUTF8IsReplacedPerMaximalSubpart(t *testing.T) {
	for in, want := range map[string]string{
		"ok":              "ok",
		"a\xffb":          "a\ufffdb",
		"\xe2\x82":        "\ufffd",             // truncated 3-byte sequence: one subpart
		"\xed\xa0\x80":    "\ufffd\ufffd\ufffd", // encoded surrogate: each byte
		"\xf0\x9f\x98x":   "\ufffdx",
		"\xc0\xaf":        "\ufffd\ufffd",
		"caf\xc3\xa9\xc3": "café\ufffd",
	} {
		got, changed := ValidUTF8(in)
		if got != want || changed != (in != want) {
			t.Errorf("ValidUTF8(%q) = %q, %v; want %q", in, got, changed, want)
		}
	}
}

func TestParseRejectsWhatNoRecordMayHold(t *testing.T) {
	for _, bad := range []string{`{"a":1,}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `{"a":"x"} x`, `[01]`, "{\"a\":\"\x01\"}"} {
		if _, err := ParseJSON([]byte(bad)); err == nil {
			t.Errorf("ParseJSON(%q) accepted", bad)
		}
	}
	v, err := ParseJSON([]byte(`{"a":["1",true,null,{"b":-0.5e3}]}`))
	if err != nil || !v.HasNumber() {
		t.Fatalf("number not found: %v", err)
	}
}

func TestLineLengthIsTheLengthOfTheEncodedLine(t *testing.T) {
	for _, seq := range []uint64{0, 9, 10, 12345, 18446744073709551615} {
		env := Envelope{Kind: KindCheckpoint, Stream: "host.0", Seq: seq, Time: FormatTime(1_764_000_000_123_456_789)}
		body := []byte(`{"a":"b"}`)
		line, _ := EncodeRecord(nil, env, body)
		if got := LineLength(env, len(body)); got != len(line) {
			t.Errorf("seq %d: LineLength %d, line %d", seq, got, len(line))
		}
	}
}

func TestRecordedTimesHaveNineFractionalDigits(t *testing.T) {
	if got := FormatTime(1_764_000_005_001_000_000); got != "2025-11-24T16:00:05.001000000Z" {
		t.Fatalf("got %s", got)
	}
}
