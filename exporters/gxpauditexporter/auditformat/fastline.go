package auditformat

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math/bits"
)

// LineChecker is CheckLine without a value tree for the records whose body the caller does not read (span and log
// records): a scan of the line bytes proves them canonical (RFC 8785, §3) and number-free, and hashes the line
// without its hash member, which for canonical input is exactly the hashed text of §4.1. Anything the scan does not
// clearly accept — a problem of any kind, an escape other than the canonical ones, a member name with an escape or
// a non-ASCII byte, deep nesting, any other kind of record — goes to CheckLine, so problems, details and records
// are always CheckLine's. Trust: none in the line. Not safe for concurrent use.
type LineChecker struct {
	h   hash.Hash
	sum Hash
}

var recordDomain = []byte(RecordDomain)

const fastMaxDepth = 64 // deeper bodies take the strict path (its limit is maxParseDepth)

// Check is CheckLine(line), except that for a good span or log record Body is left empty.
func (c *LineChecker) Check(line []byte) (rec Record, problem, detail string) {
	if c.fast(line, &rec) {
		return rec, "", ""
	}
	return CheckLine(line)
}

func (c *LineChecker) fast(line []byte, rec *Record) bool {
	const head = `{"body":{`
	if len(line) < len(head) || string(line[:len(head)]) != head {
		return false
	}
	end := scanObject(line, len(head)-1, 1)
	if end < 0 {
		return false
	}
	// The envelope after the body, member by member in JCS order, with values that need no escaping.
	t := line[end:]
	cur := cursor{t: t}
	if !cur.expect(`,"hash":"`) {
		return false
	}
	hashFrom := cur.at
	if !cur.hex64() {
		return false
	}
	hashTo := cur.at + 1 // past the closing quote
	if !cur.expect(`","kind":"`) {
		return false
	}
	kFrom, kTo, ok := cur.field(16)
	if !ok {
		return false
	}
	switch string(t[kFrom:kTo]) {
	case KindSpan:
		rec.Kind = KindSpan
	case KindLog:
		rec.Kind = KindLog
	default:
		return false // other kinds: their body is read, so the strict path builds it
	}
	if !cur.expect(`","prev":"`) {
		return false
	}
	prevFrom := cur.at
	if !cur.hex64() || !cur.expect(`","seq":"`) {
		return false
	}
	sFrom, sTo, ok := cur.field(19)
	if !ok || sTo == sFrom || (t[sFrom] == '0' && sTo-sFrom > 1) {
		return false
	}
	var seq uint64
	for _, d := range t[sFrom:sTo] {
		if d < '0' || d > '9' {
			return false
		}
		seq = seq*10 + uint64(d-'0') // 19 digits fit a uint64
	}
	if seq > MaxSeq || !cur.expect(`","stream":"`) {
		return false
	}
	stFrom, stTo, ok := cur.field(64)
	if !ok || stTo == stFrom {
		return false
	}
	for _, ch := range t[stFrom:stTo] {
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_') {
			return false
		}
	}
	if !cur.expect(`","time":"`) {
		return false
	}
	tiFrom := cur.at
	if len(t)-cur.at < 30 {
		return false
	}
	cur.at += 30
	if !cur.expect(`"}`) || cur.at != len(t) {
		return false
	}
	// One string holds every envelope value of the record.
	tail := string(t[hashFrom:])
	rec.Hash = tail[:64]
	rec.Prev = tail[prevFrom-hashFrom : prevFrom-hashFrom+64]
	rec.Seq = seq
	rec.Stream = tail[stFrom-hashFrom : stTo-hashFrom]
	rec.Time = tail[tiFrom-hashFrom : tiFrom-hashFrom+30]
	if !ValidTime(rec.Time) {
		return false
	}
	if c.h == nil {
		c.h = sha256.New()
	}
	c.h.Reset()
	c.h.Write(recordDomain)
	c.h.Write(line[:end])
	c.h.Write(t[hashTo:])
	c.h.Sum(c.sum[:0])
	var sumHex [64]byte
	hex.Encode(sumHex[:], c.sum[:])
	return string(sumHex[:]) == rec.Hash // a mismatch is "modified": the strict path words it
}

// cursor reads the envelope members after the body.
type cursor struct {
	t  []byte
	at int
}

func (c *cursor) expect(s string) bool {
	if len(c.t)-c.at < len(s) || string(c.t[c.at:c.at+len(s)]) != s {
		return false
	}
	c.at += len(s)
	return true
}

func (c *cursor) hex64() bool {
	if len(c.t)-c.at < 64 || !lowerHex(c.t[c.at:c.at+64]) {
		return false
	}
	c.at += 64
	return true
}

// field is the span up to the next '"', of at most limit bytes.
func (c *cursor) field(limit int) (int, int, bool) {
	from := c.at
	for i := from; i < len(c.t) && i-from <= limit; i++ {
		if c.t[i] == '"' {
			c.at = i
			return from, i, true
		}
	}
	return 0, 0, false
}

func lowerHex(b []byte) bool {
	for _, c := range b {
		if !isLowerHex[c] {
			return false
		}
	}
	return true
}

var isLowerHex = func() (t [256]bool) {
	for _, c := range "0123456789abcdef" {
		t[c] = true
	}
	return t
}()

// plainString marks the bytes a canonical string holds as they are, ASCII only: not a control character, '"' or '\'.
var plainString = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainMask has the top bit of every byte of x that is not a plainString byte (0x20-0x7f, not '"' or '\\'), and
// possibly of bytes after the first such byte, never of a byte before it: below the first flagged byte no byte
// borrows when 0x20 is taken from it or when 1 is taken from it xor '"' or xor '\\' (a borrow only runs upwards).
// So x is all plain when the mask is 0, and else its lowest set bit marks exactly the first byte that is not.
func plainMask(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	t := (x - 0x20*ones) | ((x ^ '"'*ones) - ones) | ((x ^ '\\'*ones) - ones) | x
	return t & highs
}

// scanValue returns the index after the canonical, number-free JSON value at b[i], or -1.
func scanValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '{':
		return scanObject(b, i, depth+1)
	case '[':
		return scanArray(b, i, depth+1)
	case '"':
		return scanString(b, i)
	case 't':
		return scanWord(b, i, "true")
	case 'f':
		return scanWord(b, i, "false")
	case 'n':
		return scanWord(b, i, "null")
	}
	return -1 // a number, whitespace or anything else: the strict path decides
}

func scanWord(b []byte, i int, w string) int {
	if len(b)-i < len(w) || string(b[i:i+len(w)]) != w {
		return -1
	}
	return i + len(w)
}

// scanObject: members with ASCII names without escapes (there byte order is UTF-16 order) in strictly increasing
// order, so no name repeats.
func scanObject(b []byte, i, depth int) int {
	if depth > fastMaxDepth {
		return -1
	}
	i++
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	var last []byte
	for first := true; ; first = false {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		from := i + 1
		i = from
		for i < len(b) && b[i] != '"' {
			if !plainString[b[i]] {
				return -1
			}
			i++
		}
		if i+1 >= len(b) || b[i+1] != ':' {
			return -1
		}
		name := b[from:i]
		if !first && string(last) >= string(name) {
			return -1
		}
		last = name
		if i = scanValue(b, i+2, depth); i < 0 || i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i + 1
		default:
			return -1
		}
	}
}

func scanArray(b []byte, i, depth int) int {
	if depth > fastMaxDepth {
		return -1
	}
	i++
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		if i = scanValue(b, i, depth); i < 0 || i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			return i + 1
		default:
			return -1
		}
	}
}

// scanString accepts what AppendString writes: literal valid UTF-8 but for the escapes \" \\ \b \f \n \r \t and
// \u00xx (lowercase hex) for the other code points below U+0020.
func scanString(b []byte, i int) int {
	i++
	for i < len(b) {
		for len(b)-i >= 8 {
			if m := plainMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3 // to the first byte that is not plain
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || b[i+2] != '0' || b[i+3] != '0' || !lowerHex(b[i+4:i+6]) {
					return -1
				}
				switch v := unhex(b[i+4])<<4 | unhex(b[i+5]); {
				case v >= 0x20, v == '\b', v == '\f', v == '\n', v == '\r', v == '\t':
					return -1
				}
				i += 6
			default:
				return -1
			}
		case c >= 0x80:
			if i = utf8Char(b, i); i < 0 {
				return -1
			}
		case c >= 0x20:
			i++ // plain: only the last bytes of the line, fewer than eight, come here
		default:
			return -1 // a control character
		}
	}
	return -1
}

// utf8Char returns the index after the one well-formed UTF-8 sequence of 2 to 4 bytes at b[i] (b[i] >= 0x80), or -1:
// exactly the sequences utf8.DecodeRune decodes to a size above 1 (no overlong form, surrogate or code point above
// U+10FFFF; Unicode Table 3-7).
func utf8Char(b []byte, i int) int {
	c := b[i]
	var size int
	lo, hi := byte(0x80), byte(0xbf) // the range of the second byte
	switch {
	case c < 0xc2:
		return -1 // a continuation byte or an overlong two-byte form
	case c < 0xe0:
		size = 2
	case c < 0xf0:
		size = 3
		if c == 0xe0 {
			lo = 0xa0
		} else if c == 0xed {
			hi = 0x9f
		}
	case c < 0xf5:
		size = 4
		if c == 0xf0 {
			lo = 0x90
		} else if c == 0xf4 {
			hi = 0x8f
		}
	default:
		return -1
	}
	if len(b)-i < size || b[i+1] < lo || b[i+1] > hi {
		return -1
	}
	for k := 2; k < size; k++ {
		if b[i+k] < 0x80 || b[i+k] > 0xbf {
			return -1
		}
	}
	return i + size
}
