package auditformat

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"time"
)

const (
	// FormatV1 and FormatV2 are the format versions (§7): a stream keeps the version of its genesis for its life.
	FormatV1 = "gxp-otel-audit/1"
	FormatV2 = "gxp-otel-audit/2"
	// FormatVersion is what a writer writes for a new stream: genesis.format and its statements' format.
	FormatVersion = FormatV2
	// RecordDomain prefixes JCS(record without hash) in the record hash (§4.1).
	RecordDomain = "gxp-otel:record:v1\x00"
	// CheckpointDomain prefixes JCS(statement) in a checkpoint signature (§7).
	CheckpointDomain = "gxp-otel:checkpoint:v1\x00"
	// ZeroHash is the prev of the genesis record.
	ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000"
)

// Record kinds (§4).
const (
	KindGenesis    = "genesis"
	KindSpan       = "span"
	KindLog        = "log"
	KindCheckpoint = "checkpoint"
	KindRotation   = "rotation"
	KindRecovery   = "recovery"
	KindGap        = "gap"
)

// Hash is a record hash.
type Hash [sha256.Size]byte

// Hex is the lowercase hex form used in records.
func (h Hash) Hex() string { return hex.EncodeToString(h[:]) }

// Envelope is everything of a record except its body and hash. Kind, Stream and Time never need escaping
// (a known kind, a stream id, a recorded time), which EncodeRecord relies on.
type Envelope struct {
	Kind   string
	Stream string
	Seq    uint64
	Prev   Hash
	Time   string
}

// EncodeRecord appends the record's line (canonical JSON and "\n") to dst and returns it with the record hash.
// body must be the canonical JSON of the body object. JCS orders the members body, hash, kind, prev, seq, stream,
// time, so the hashed text is the line without its hash member and the body is serialised only once.
func EncodeRecord(dst []byte, env Envelope, body []byte) ([]byte, Hash) {
	var e RecordEncoder
	return e.Encode(dst, env, body)
}

// RecordEncoder is EncodeRecord with its hash state and scratch kept between records, so encoding allocates
// nothing (what is handed to the hash interface escapes; here it lives in the encoder). Not safe for concurrent use.
type RecordEncoder struct {
	h    hash.Hash
	tail []byte
	sum  Hash
}

// recordPrefix is the hashed text before the body.
var recordPrefix = []byte(RecordDomain + `{"body":`)

// Encode is EncodeRecord.
func (e *RecordEncoder) Encode(dst []byte, env Envelope, body []byte) ([]byte, Hash) {
	e.tail = appendEnvelopeTail(e.tail[:0], env)
	if e.h == nil {
		e.h = sha256.New()
	}
	h := e.h
	h.Reset()
	h.Write(recordPrefix)
	h.Write(body)
	h.Write(e.tail)
	h.Sum(e.sum[:0])
	sum := e.sum
	dst = append(dst, `{"body":`...)
	dst = append(dst, body...)
	dst = append(dst, `,"hash":"`...)
	dst = hex.AppendEncode(dst, sum[:])
	dst = append(dst, '"')
	dst = append(dst, e.tail...)
	return append(dst, '\n'), sum
}

func appendEnvelopeTail(dst []byte, env Envelope) []byte {
	dst = append(dst, `,"kind":"`...)
	dst = append(dst, env.Kind...)
	dst = append(dst, `","prev":"`...)
	dst = hex.AppendEncode(dst, env.Prev[:])
	dst = append(dst, `","seq":"`...)
	dst = strconv.AppendUint(dst, env.Seq, 10)
	dst = append(dst, `","stream":"`...)
	dst = append(dst, env.Stream...)
	dst = append(dst, `","time":"`...)
	dst = append(dst, env.Time...)
	return append(dst, `"}`...)
}

// LineLength is the length of the line EncodeRecord produces for env and a body of bodyLen bytes, computed
// without building it (Prev does not change it; Time is always 30 bytes in a valid record).
func LineLength(env Envelope, bodyLen int) int {
	digits := 1
	for n := env.Seq; n >= 10; n /= 10 {
		digits++
	}
	const fixed = len(`{"body":`) + len(`,"hash":"`) + 64 + len(`"`) + len(`,"kind":"`) + len(`","prev":"`) + 64 +
		len(`","seq":"`) + len(`","stream":"`) + len(`","time":"`) + len(`"}`) + len("\n")
	return fixed + bodyLen + len(env.Kind) + digits + len(env.Stream) + len(env.Time)
}

// FormatTime renders nanoseconds since the Unix epoch as a recorded time, YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ (UTC).
func FormatTime(ns int64) string {
	return string(AppendTime(nil, ns))
}

// AppendTime appends FormatTime(ns) to dst.
func AppendTime(dst []byte, ns int64) []byte {
	return time.Unix(0, ns).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000000Z")
}
