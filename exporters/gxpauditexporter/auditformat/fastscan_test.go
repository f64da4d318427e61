package auditformat

import (
	"encoding/binary"
	"math/bits"
	"math/rand"
	"testing"
	"unicode/utf8"
)

// utf8Char accepts exactly what utf8.DecodeRune decodes to more than one byte: every lead byte from 0x80, every
// second and third byte, the fourth byte at each range boundary, and every sequence cut short.
func TestUTF8CharIsDecodeRune(t *testing.T) {
	fourth := []byte{0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff}
	buf := make([]byte, 4)
	for c0 := 0x80; c0 <= 0xff; c0++ {
		for c1 := 0; c1 <= 0xff; c1++ {
			for c2 := 0; c2 <= 0xff; c2++ {
				for _, c3 := range fourth {
					buf[0], buf[1], buf[2], buf[3] = byte(c0), byte(c1), byte(c2), c3
					for n := 1; n <= 4; n++ {
						want := -1
						if r, size := utf8.DecodeRune(buf[:n]); r != utf8.RuneError || size > 1 {
							want = size
						}
						if got := utf8Char(buf[:n], 0); got != want {
							t.Fatalf("utf8Char(% x) = %d, DecodeRune says %d", buf[:n], got, want)
						}
					}
				}
			}
		}
	}
}

// plainMask is 0 exactly for eight plain bytes, and else its lowest set bit is in the first byte that is not plain:
// every byte value at every position after plain bytes, followed by random bytes.
func TestPlainMaskFirstByte(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	var w [8]byte
	check := func() {
		first := 8
		for k, c := range w {
			if !plainString[c] {
				first = k
				break
			}
		}
		m := plainMask(binary.LittleEndian.Uint64(w[:]))
		if (m == 0) != (first == 8) || (m != 0 && bits.TrailingZeros64(m)>>3 != first) {
			t.Fatalf("plainMask(% x) = %x, first non-plain byte %d", w, m, first)
		}
	}
	for p := 0; p < 8; p++ {
		for v := 0; v <= 0xff; v++ {
			for round := 0; round < 64; round++ {
				for k := range w {
					switch {
					case k < p:
						w[k] = byte(0x20 + rnd.Intn(0x60))
						for !plainString[w[k]] {
							w[k] = byte(0x20 + rnd.Intn(0x60))
						}
					case k == p:
						w[k] = byte(v)
					default:
						w[k] = byte(rnd.Intn(256))
					}
				}
				check()
			}
		}
	}
	for n := 0; n < 1<<20; n++ {
		binary.LittleEndian.PutUint64(w[:], rnd.Uint64())
		check()
	}
}

// Every one-byte change of a span line dense in escapes and multi-byte characters, at every alignment of the
// eight-byte scan, gets the strict verdict.
func TestLineCheckerEqualsStrictOnHostileMutations(t *testing.T) {
	var c LineChecker
	hostile := `"He said \"stop\"\n\tthen “quoted” 😀🧪 café \\ C:\\tmp\u0001 \u001f ` + "\ufeff \x7f end\""
	for pad := 0; pad < 8; pad++ {
		body := `{"a":"` + padding(pad) + `","b":[` + hostile + `,{"c":` + hostile + `}],"d":` + hostile + `}`
		line, _ := EncodeRecord(nil, Envelope{Kind: KindSpan, Stream: "s.1", Seq: 7, Time: "2026-02-28T23:59:59.123456789Z"}, []byte(body))
		l := line[:len(line)-1]
		var r Record
		sameAsStrict(t, &c, l)
		if !c.fast(l, &r) {
			t.Fatalf("the hostile line does not take the fast path: %q", l)
		}
		for i := 0; i <= len(l); i++ {
			for _, m := range []string{"\"", "\\", "u", "\x00", "\x1f", "\x7f", "\x80", "\xbf", "\xc0", "\xc3", "\xe0", "\xed", "\xef", "\xf0", "\xf4", "\xf5", "\xff", "é", "😀"} {
				sameAsStrict(t, &c, append(append(append([]byte{}, l[:i]...), m...), l[i:]...))
				if i < len(l) {
					sameAsStrict(t, &c, append(append(append([]byte{}, l[:i]...), m...), l[i+1:]...))
				}
			}
		}
	}
}

func padding(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}
