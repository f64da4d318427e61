package auditverify

import (
	"crypto/ed25519"
	"strconv"
	"strings"
	"time"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// Shapes of the Part 11 record bodies (docs/audit-format.md §12). Each *Problem function returns "" for a
// well-formed body (with a signature that verifies, where it has one), else what is wrong. No I/O.

const (
	signatureFormat  = "gxp-otel-signature/1"
	purgeFormat      = "gxp-otel-purge/1"
	signatureDomain  = "gxp-otel:signature:v1\x00"
	purgeDomain      = "gxp-otel:purge:v1\x00"
	retentionStream  = "retention"
	nanosecondsInDay = 86_400 * int64(time.Second)
)

var (
	signatureMembers  = []string{"format", "record", "signer", "key_id", "public_key", "time", "meaning", "reason", "authentication"}
	correctionMembers = []string{"original", "path", "old_value", "new_value", "reason", "corrected_by"}
	purgeMembers      = []string{"format", "stream", "files", "key_in_force", "before", "retention_days", "policy", "reason", "purged_by", "key_id", "public_key", "time"}
	purgedFileMembers = []string{"file", "sha256", "first_seq", "last_seq", "last_hash", "last_time", "checkpoint"}
	meanings          = map[string]bool{"authorship": true, "review": true, "approval": true, "responsibility": true}
	authentications   = map[string]bool{"all-components": true, "session": true}
)

// exactly says v is an object with exactly the named members.
func exactly(v *auditformat.Value, names ...string) bool {
	if v == nil || v.Kind != auditformat.Object || len(v.Members) != len(names) {
		return false
	}
	for _, n := range names {
		if _, ok := v.Get(n); !ok {
			return false
		}
	}
	return true
}

func member(v *auditformat.Value, name string) *auditformat.Value {
	m, _ := v.Get(name)
	return m
}

func text(v *auditformat.Value, name string) string {
	s, _ := stringMember(v, name)
	return s
}

// parseTime is a recorded time (§4) in Unix nanoseconds; ok is false for any other string.
func parseTime(s string) (int64, bool) {
	if !auditformat.ValidTime(s) {
		return 0, false
	}
	t, err := time.Parse("2006-01-02T15:04:05.000000000Z", s)
	return t.UnixNano(), err == nil
}

func referenceProblem(ref *auditformat.Value) string {
	if !exactly(ref, "stream", "seq", "hash") {
		return "the record reference is not {stream, seq, hash}"
	}
	if _, ok := referenceSeq(ref); !ok || !auditformat.ValidStream(text(ref, "stream")) ||
		!auditformat.Hex64Pattern.MatchString(text(ref, "hash")) {
		return "the record reference has a malformed stream, seq or hash"
	}
	return ""
}

func referenceSeq(ref *auditformat.Value) (int64, bool) {
	s, ok := stringMember(ref, "seq")
	if !ok || !auditformat.SeqPattern.MatchString(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func personProblem(person *auditformat.Value, what string) string {
	if !exactly(person, "printed_name", "user_id") {
		return what + " must be {printed_name, user_id}, both not empty"
	}
	for _, m := range person.Members {
		if m.Value.Kind != auditformat.String || strings.TrimSpace(m.Value.Str) == "" {
			return what + " must be {printed_name, user_id}, both not empty"
		}
	}
	return ""
}

// keyOf is the statement's public key when key_id is its id.
func keyOf(statement *auditformat.Value) (ed25519.PublicKey, string) {
	pub, ok := decodePublic(text(statement, "public_key"))
	if !ok || !auditformat.Hex64Pattern.MatchString(text(statement, "public_key")) {
		return nil, "public_key is not 64 lowercase hex digits"
	}
	if text(statement, "key_id") != auditformat.KeyID(pub) {
		return nil, "key_id is not the id of public_key"
	}
	return pub, ""
}

func signedBy(pub ed25519.PublicKey, domain string, statement *auditformat.Value, signature *auditformat.Value) bool {
	canonical, err := auditformat.AppendCanonical(nil, statement)
	return err == nil && signature != nil && signature.Kind == auditformat.String &&
		auditformat.VerifyDomain(pub, domain, canonical, signature.Str)
}

// signatureProblem: a signature body of §12.1 (shape, key id, Ed25519).
func signatureProblem(body *auditformat.Value) string {
	if !exactly(body, "statement", "signature") {
		return "body is not {statement, signature}"
	}
	statement := member(body, "statement")
	if !exactly(statement, signatureMembers...) {
		return "statement members are not those of §12.1"
	}
	if p := referenceProblem(member(statement, "record")); p != "" {
		return p
	}
	if p := personProblem(member(statement, "signer"), "signer"); p != "" {
		return p
	}
	pub, p := keyOf(statement)
	switch {
	case p != "":
		return p
	case text(statement, "format") != signatureFormat:
		return "format is not " + signatureFormat
	case !meanings[text(statement, "meaning")]:
		return "meaning is not one of authorship, review, approval, responsibility"
	case !authentications[text(statement, "authentication")]:
		return "authentication is not all-components or session"
	case !auditformat.ValidTime(text(statement, "time")):
		return "time is not a UTC time of the recorded-time form"
	case member(statement, "reason").Kind != auditformat.String:
		return "reason is not a string"
	case !signedBy(pub, signatureDomain, statement, member(body, "signature")):
		return "the signature does not verify under " + text(statement, "key_id")
	}
	return ""
}

// correctionProblem: the shape of a correction body of §12.2 (its link and old value are checked against the trail).
func correctionProblem(body *auditformat.Value) string {
	if !exactly(body, correctionMembers...) {
		return "body members are not those of §12.2"
	}
	if p := referenceProblem(member(body, "original")); p != "" {
		return p
	}
	if p := personProblem(member(body, "corrected_by"), "corrected_by"); p != "" {
		return p
	}
	if path, ok := stringMember(body, "path"); !ok || !strings.HasPrefix(path, "/") {
		return "path is not a JSON Pointer into the original body"
	}
	if reason, ok := stringMember(body, "reason"); !ok || strings.TrimSpace(reason) == "" {
		return "a correction needs a reason"
	}
	return ""
}

// purgeShapeProblem: a purge body of §12.3 (shape, bounded times against its own statement, key id, Ed25519).
func purgeShapeProblem(body *auditformat.Value) string {
	if !exactly(body, "statement", "signature") {
		return "body is not {statement, signature}"
	}
	s := member(body, "statement")
	if !exactly(s, purgeMembers...) {
		return "statement members are not those of §12.3"
	}
	if text(s, "format") != purgeFormat {
		return "format is not " + purgeFormat
	}
	stream := text(s, "stream")
	if !auditformat.ValidStream(stream) {
		return "stream is not a stream id"
	}
	for _, m := range []string{"before", "retention_days", "policy", "reason", "time"} {
		if member(s, m).Kind != auditformat.String {
			return "before, retention_days, policy, reason or time is malformed"
		}
	}
	before, ok1 := parseTime(text(s, "before"))
	at, ok2 := parseTime(text(s, "time"))
	days, err := strconv.ParseInt(text(s, "retention_days"), 10, 64)
	if !ok1 || !ok2 || !auditformat.SeqPattern.MatchString(text(s, "retention_days")) || err != nil || days > 1<<20 {
		return "before, retention_days, policy, reason or time is malformed"
	}
	files := member(s, "files")
	if files.Kind != auditformat.Array || len(files.Items) == 0 {
		return "files is not a non-empty list of §12.3 purged files of the stream"
	}
	limit := min(before, at-days*nanosecondsInDay)
	for i := range files.Items {
		f := &files.Items[i]
		if !purgedFileOK(f, stream) {
			return "files is not a non-empty list of §12.3 purged files of the stream"
		}
		if last, _ := parseTime(text(f, "last_time")); last >= limit {
			return "a purged file's last record is not older than the cut-off and the retention period"
		}
	}
	if !keyInForceOK(member(s, "key_in_force")) {
		return "key_in_force is not {key_id, public_key} of one key (or none)"
	}
	if p := personProblem(member(s, "purged_by"), "purged_by"); p != "" {
		return p
	}
	pub, p := keyOf(s)
	if p != "" {
		return p
	}
	if !signedBy(pub, purgeDomain, s, member(body, "signature")) {
		return "the tombstone signature does not verify under " + text(s, "key_id")
	}
	return ""
}

func purgedFileOK(f *auditformat.Value, stream string) bool {
	if !exactly(f, purgedFileMembers...) || member(f, "checkpoint").Kind != auditformat.Object {
		return false
	}
	for _, m := range purgedFileMembers[:6] {
		if member(f, m).Kind != auditformat.String {
			return false
		}
	}
	cf, ok := auditformat.ParseChainFileName(text(f, "file"))
	_, timeOK := parseTime(text(f, "last_time"))
	return ok && cf.Stream == stream && auditformat.Hex64Pattern.MatchString(text(f, "sha256")) &&
		auditformat.SeqPattern.MatchString(text(f, "first_seq")) && auditformat.SeqPattern.MatchString(text(f, "last_seq")) &&
		auditformat.Hex64Pattern.MatchString(text(f, "last_hash")) && timeOK
}

func keyInForceOK(key *auditformat.Value) bool {
	if !exactly(key, "key_id", "public_key") {
		return false
	}
	if text(key, "key_id") == auditformat.UnsignedKeyID {
		public, ok := stringMember(key, "public_key")
		return ok && public == ""
	}
	_, p := keyOf(key)
	return p == ""
}

// pointerGet resolves an RFC 6901 JSON Pointer in doc.
func pointerGet(doc *auditformat.Value, pointer string) (*auditformat.Value, bool) {
	if pointer == "" {
		return doc, true
	}
	current := doc
	for _, token := range strings.Split(pointer[1:], "/") {
		token = strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")
		switch current.Kind {
		case auditformat.Object:
			next, ok := current.Get(token)
			if !ok {
				return nil, false
			}
			current = next
		case auditformat.Array:
			n, err := strconv.Atoi(token)
			// RFC 6901 array-index: digits only, no leading zero (01 names no element), as Python's pointer_get
			if err != nil || strings.Trim(token, "0123456789") != "" || (len(token) > 1 && token[0] == '0') || n >= len(current.Items) {
				return nil, false
			}
			current = &current.Items[n]
		default:
			return nil, false
		}
	}
	return current, true
}

// sameJSON compares two values by their canonical form.
func sameJSON(a, b *auditformat.Value) bool {
	ca, err1 := auditformat.AppendCanonical(nil, a)
	cb, err2 := auditformat.AppendCanonical(nil, b)
	return err1 == nil && err2 == nil && string(ca) == string(cb)
}
