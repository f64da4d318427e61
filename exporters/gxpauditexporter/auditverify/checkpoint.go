package auditverify

import (
	"fmt"
	"strconv"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// checkpoint applies §10.4 to an accepted checkpoint record, reporting only its first failure; it returns whether
// the checkpoint is valid (then, anchored, it is a trusted seal: its key passed the trust check).
func (v *streamVerifier) checkpoint(rec *auditformat.Record, seq int64, cf auditformat.ChainFile, number int) bool {
	name := cf.Name()
	fail := func(kind, detail string) bool {
		v.report(name, intPtr(number), seqPtr(seq), kind, detail)
		return false
	}
	statement, keyID, signature, ok := checkpointShape(&rec.Body, v.version)
	if !ok {
		return fail("malformed", "checkpoint body is not {statement, key_id, signature} with a statement of the stream's version (§7)")
	}
	want := [][2]string{{"stream", v.summary.Stream}, {"seq", strconv.FormatInt(seq-1, 10)}, {"head", rec.Prev},
		{"file", cf.Plain()}, {"time", rec.Time}}
	if format, _ := stringMember(statement, "format"); format == formatV2 {
		if v.genesis != "" {
			want = append(want, [2]string{"genesis", v.genesis})
		}
		if v.version != "" {
			want = append(want, [2]string{"retention_days", v.retention})
		}
	}
	var wrong []string
	for _, w := range want {
		if got, _ := stringMember(statement, w[0]); got != w[1] {
			wrong = append(wrong, w[0])
		}
	}
	if len(wrong) > 0 {
		return fail("checkpoint-mismatch", fmt.Sprintf("statement %v do not match the chain", wrong))
	}
	if keyID != v.keyInForce {
		return fail("bad-signature", fmt.Sprintf("signed by %s, the key in force is %s", keyID, v.keyInForce))
	}
	if kind, detail := v.signatureProblem(keyID, statement, signature); kind != "" {
		return fail(kind, detail)
	}
	v.summary.Checkpoints++
	if keyID != auditformat.UnsignedKeyID {
		v.summary.SignedCheckpoints++
	}
	reason, _ := stringMember(statement, "reason")
	v.summary.Closed = reason == auditformat.ReasonClose
	return true
}

// signatureProblem judges a checkpoint statement's key and signature (§10.4, also for held lines §10.5): anchored,
// only a trusted writer key verifies; self-keyed, the key its key_id names among the keys seen in the chain, and
// an unsigned statement ("none", "") passes. It returns the problem kind and detail, or "" when it is good.
func (v *streamVerifier) signatureProblem(keyID string, statement *auditformat.Value, signature string) (string, string) {
	if v.anchored() {
		pub := v.trusted[keyID]
		if pub == nil {
			return "untrusted-key", fmt.Sprintf("signed by %s, which is not a trusted writer key", keyID)
		}
		if !verifySignature(pub, statement, signature) {
			return "bad-signature", "signature does not verify under " + keyID
		}
		return "", ""
	}
	if keyID == auditformat.UnsignedKeyID {
		if signature != "" {
			return "bad-signature", "an unsigned checkpoint with a signature"
		}
		return "", ""
	}
	pub := v.keys[keyID]
	if pub == nil {
		return "bad-signature", "signed by " + keyID + ", a key not seen in the chain"
	}
	if !verifySignature(pub, statement, signature) {
		return "bad-signature", "signature does not verify under " + keyID
	}
	return "", ""
}

// checkpointReason is the statement reason of a checkpoint record, "" for any other record.
func checkpointReason(rec *auditformat.Record) string {
	if rec.Kind != auditformat.KindCheckpoint {
		return ""
	}
	statement, ok := rec.Body.Get("statement")
	if !ok {
		return ""
	}
	reason, _ := stringMember(statement, "reason")
	return reason
}
