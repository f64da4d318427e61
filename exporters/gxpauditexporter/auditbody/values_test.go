package auditbody

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// exactText is the reference path of findings.text: replace invalid UTF-8, then JCS-escape.
func exactText(s string) ([]byte, bool) {
	clean, changed := auditformat.ValidUTF8(s)
	return auditformat.AppendString(nil, clean), changed
}

// Every byte value at every position of an 8-byte word and of the tail, in strings of 0 to 19 bytes, gives the
// same JCS text and the same findings through the plain-ASCII fast paths (text, clean, appendJCS) as through the
// exact path.
func TestPlainASCIIFastPathEqualsTheExactEncoding(t *testing.T) {
	for length := 0; length < 20; length++ {
		for pos := 0; pos < max(length, 1); pos++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat("a", length))
				if length > 0 {
					b[pos] = byte(c)
				}
				s := string(b)
				var f findings
				got := f.text(nil, s, "attributes", "k", "/stringValue")
				want, changed := exactText(s)
				if !bytes.Equal(got, want) || (len(f.invalid) > 0) != changed {
					t.Fatalf("%q: got %s (findings %v), want %s (changed %v)", s, got, f.invalid, want, changed)
				}
				clean, _ := auditformat.ValidUTF8(s)
				var g findings
				if g.clean(s, "name") != clean || !bytes.Equal(appendJCS(nil, clean), auditformat.AppendString(nil, clean)) {
					t.Fatalf("%q: clean or appendJCS differs from the exact path", s)
				}
				plain := c >= 0x20 && c < 0x80 && c != '"' && c != '\\'
				if length > 0 && plainASCII(s) != plain {
					t.Fatalf("plainASCII(%q) = %v, want %v", s, plainASCII(s), plain)
				}
			}
		}
	}
	for _, s := range []string{"", "gen_ai.agent.name", "llm.input_messages.0.message.content", "ünïcode",
		"tab\there", "\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f", "quote\"in the middle of a long string", "\xff\xfe", "😀"} {
		var f findings
		got := f.text(nil, s, "", "name", "")
		want, _ := exactText(s)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	}
}
