package auditformat

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
)

// Per-line problem kinds of §10, in the order they are checked.
const (
	ProblemTorn         = "torn-line"
	ProblemMalformed    = "malformed"
	ProblemNonCanonical = "non-canonical"
	ProblemModified     = "modified"
)

// knownKinds are the kinds a verifier accepts: the version 1 kinds and the reserved ones (§4).
var knownKinds = map[string]bool{
	KindGenesis: true, KindSpan: true, KindLog: true, KindCheckpoint: true, KindRotation: true, KindRecovery: true,
	KindGap: true, "signature": true, "correction": true, "purge": true,
}

var envelopeMembers = []string{"body", "hash", "kind", "prev", "seq", "stream", "time"}

// Record is a parsed record line.
type Record struct {
	Kind   string
	Stream string
	Seq    uint64
	Prev   string
	Hash   string
	Time   string
	Body   Value
}

// CheckLine applies the per-line checks of §10 to one line without its "\n": valid UTF-8 JSON with the record shape
// and no JSON number (else "malformed"), byte-identical to its canonical form (else "non-canonical"), hash
// recomputed from that form (else "modified"). It trusts nothing in the line. problem is "" for a good record; the
// record is returned for non-canonical and modified lines too.
func CheckLine(line []byte) (rec Record, problem, detail string) {
	v, err := ParseJSON(line)
	if err != nil {
		return rec, ProblemMalformed, "not valid UTF-8 JSON: " + err.Error()
	}
	if v.Kind != Object {
		return rec, ProblemMalformed, "a record must be a JSON object"
	}
	if why := shapeProblem(&v, &rec); why != "" {
		return Record{}, ProblemMalformed, why
	}
	if v.HasNumber() {
		return Record{}, ProblemMalformed, "the line holds a JSON number; the format stores numbers as strings"
	}
	if containerDepth(&rec.Body, 1) > MaxBodyDepth {
		return Record{}, ProblemMalformed, fmt.Sprintf("not canonicalisable: the body nests deeper than %d levels", MaxBodyDepth)
	}
	body, err := AppendCanonical(nil, &rec.Body)
	if err != nil {
		return Record{}, ProblemMalformed, err.Error()
	}
	hashHex := rec.Hash
	prev, _ := ParseHash(rec.Prev)
	canonical, sum := EncodeRecord(nil, Envelope{Kind: rec.Kind, Stream: rec.Stream, Seq: rec.Seq, Prev: prev, Time: rec.Time}, body)
	// EncodeRecord wrote the recomputed hash; splice in the line's own hash to compare the rest of the bytes.
	at := bytes.Index(canonical, []byte(`,"hash":"`)) // the first one: body is canonical, so none is inside it
	canonical = canonical[:len(canonical)-1]
	withOwn := append(append(append([]byte{}, canonical[:at+9]...), hashHex...), canonical[at+9+64:]...)
	if !bytes.Equal(withOwn, line) {
		return rec, ProblemNonCanonical, "the line is not the RFC 8785 form of its record"
	}
	if sum.Hex() != hashHex {
		return rec, ProblemModified, fmt.Sprintf("content hashes to %s…, the line says %s…", sum.Hex()[:16], hashHex[:16])
	}
	return rec, "", ""
}

// MaxBodyDepth is the deepest nesting of objects and arrays a record body may have, counting the body object as 1:
// the Python verifier cannot canonicalise a deeper one (orjson's limit) and reports the line malformed, so this one
// does too (a body nested 255 to 511 levels deep was VERIFIED here and malformed there). Writers nest far less
// (AnyValues are cut at depth 32, §5.1).
const MaxBodyDepth = 254

// containerDepth is the nesting of objects and arrays in v, v itself at level depth (0 for a string or literal).
func containerDepth(v *Value, depth int) int {
	deepest := 0
	switch v.Kind {
	case Object:
		deepest = depth
		for i := range v.Members {
			deepest = max(deepest, containerDepth(&v.Members[i].Value, depth+1))
		}
	case Array:
		deepest = depth
		for i := range v.Items {
			deepest = max(deepest, containerDepth(&v.Items[i], depth+1))
		}
	}
	return deepest
}

func shapeProblem(v *Value, rec *Record) string {
	seen := map[string]*Value{}
	for i := range v.Members {
		seen[v.Members[i].Name] = &v.Members[i].Value
	}
	var missing, extra []string
	for _, name := range envelopeMembers {
		if seen[name] == nil {
			missing = append(missing, name)
		}
	}
	for name := range seen {
		if !isEnvelopeMember(name) {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		return fmt.Sprintf("record members wrong (missing %v, unexpected %v)", missing, extra)
	}
	str := func(name string, ok func(string) bool, what string) (string, string) {
		m := seen[name]
		if m.Kind != String || !ok(m.Str) {
			return "", fmt.Sprintf("member %q must be %s", name, what)
		}
		return m.Str, ""
	}
	var why string
	if rec.Kind, why = str("kind", func(s string) bool { return knownKinds[s] }, "a known kind"); why != "" {
		return why
	}
	if rec.Stream, why = str("stream", StreamPattern.MatchString, "a stream id"); why != "" {
		return why
	}
	seq, why := str("seq", SeqPattern.MatchString, "a decimal string")
	if why != "" {
		return why
	}
	if rec.Seq, _ = strconv.ParseUint(seq, 10, 64); rec.Seq > MaxSeq { // 19 digits at most: fits a uint64
		return fmt.Sprintf("member \"seq\" is above %d, the largest seq (int64)", uint64(MaxSeq))
	}
	if rec.Prev, why = str("prev", Hex64Pattern.MatchString, "64 lowercase hex digits"); why != "" {
		return why
	}
	if rec.Hash, why = str("hash", Hex64Pattern.MatchString, "64 lowercase hex digits"); why != "" {
		return why
	}
	if rec.Time, why = str("time", ValidTime, "a recorded UTC time YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ"); why != "" {
		return why
	}
	if seen["body"].Kind != Object {
		return `member "body" must be an object`
	}
	rec.Body = *seen["body"]
	return ""
}

func isEnvelopeMember(name string) bool {
	for _, m := range envelopeMembers {
		if m == name {
			return true
		}
	}
	return false
}

// Reading limits (§2.1): the longest line without its "\n", which writers MUST NOT exceed and readers reject, and
// the most bytes one .gz chain file may decompress to.
const (
	MaxLineBytes         = 16 << 20
	MaxDecompressedBytes = 4 << 30
)

// MaxSeq is the largest seq a record may have (§10.2: int64); a larger one is malformed, never wrapped.
const MaxSeq = 1<<63 - 1

// timeShape is TimePattern with '0' for each digit.
const timeShape = "0000-00-00T00:00:00.000000000Z"

// ValidTime reports whether s is a recorded time (§4, §10.2) that exists on the UTC calendar: the shape
// YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ with ASCII digits, month 01-12, a day of that month of that year, hour 00-23,
// minute and second 00-59 (no leap second), in a year from 0001 (as Python's calendar, which has no year 0: a
// year-0000 record was VERIFIED by Go and malformed for Python; no writer's clock, int64 nanoseconds since 1970,
// reaches before 1677).
func ValidTime(s string) bool {
	if len(s) != 30 { // the shape of TimePattern, without a regexp: this runs once per record
		return false
	}
	for i := 0; i < 30; i++ {
		c, want := s[i], timeShape[i]
		if want == '0' && (c < '0' || c > '9') || want != '0' && c != want {
			return false
		}
	}
	n := func(from, to int) int {
		v := 0
		for _, c := range s[from:to] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := n(0, 4), n(5, 7), n(8, 10)
	if year < 1 || month < 1 || month > 12 || day < 1 || n(11, 13) > 23 || n(14, 16) > 59 || n(17, 19) > 59 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}

// ParseHash parses a hash in its record form: 64 lowercase hex digits.
func ParseHash(s string) (Hash, bool) {
	var h Hash
	if len(s) != 64 {
		return h, false
	}
	for i := 0; i < 32; i++ {
		hi, lo := unhex(s[2*i]), unhex(s[2*i+1])
		if hi < 0 || lo < 0 {
			return Hash{}, false
		}
		h[i] = byte(hi<<4 | lo)
	}
	return h, true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}
