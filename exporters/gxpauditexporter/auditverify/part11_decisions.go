package auditverify

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// E-signed decisions (docs/audit-format.md §12.4): a log record whose attribute gxp.hitl.decision is the string
// e-signed says a person signed the decision. It must cite, in its body, a valid signature record of its responder
// earlier in the trail that no earlier decision cites; else decision-signature at the decision record.

// eSignedMark is how the attribute appears in a canonical line. A line without these bytes has no such top-level
// attribute (inside a JSON string every quote is escaped), so only lines holding them are parsed into a value tree.
var eSignedMark = []byte(`"gxp.hitl.decision":{"stringValue":"e-signed"}`)

type signedDecision struct {
	stream, file string
	line         int
	seq          int64
	responder    string
	ref          *signatureKey // nil: no reference of the §12.4 shape
}

type signatureKey struct {
	stream, seq, hash string
}

// decision keeps an accepted log line (without its "\n") when it is an e-signed decision.
func (p *part11Verifier) decision(v *streamVerifier, raw []byte, seq int64, file string, line int) {
	if !bytes.Contains(raw, eSignedMark) {
		return
	}
	rec, problem, _ := auditformat.CheckLine(raw)
	if problem != "" {
		return
	}
	attributes := member(&rec.Body, "attributes")
	if attributes == nil || attributes.Kind != auditformat.Object {
		return
	}
	claim, ok := attributes.Get("gxp.hitl.decision")
	if !ok || !exactly(claim, "stringValue") || text(claim, "stringValue") != "e-signed" {
		return
	}
	d := signedDecision{stream: v.summary.Stream, file: file, line: line, seq: seq}
	if responder, ok := attributes.Get("gxp.hitl.responder"); ok && exactly(responder, "stringValue") {
		d.responder = text(responder, "stringValue")
	}
	d.ref = decisionReference(member(&rec.Body, "body"))
	p.decisions = append(p.decisions, d)
}

// decisionReference is the reference of §12.4: body = {kvlistValue: {signature: {kvlistValue: {stream, seq, hash}}}},
// each of the three a {stringValue}.
func decisionReference(body *auditformat.Value) *signatureKey {
	if !exactly(body, "kvlistValue") {
		return nil
	}
	fields := member(body, "kvlistValue")
	if fields.Kind != auditformat.Object {
		return nil
	}
	signature, ok := fields.Get("signature")
	if !ok || !exactly(signature, "kvlistValue") {
		return nil
	}
	members := member(signature, "kvlistValue")
	if !exactly(members, "stream", "seq", "hash") {
		return nil
	}
	ref := &auditformat.Value{Kind: auditformat.Object}
	for _, name := range []string{"stream", "seq", "hash"} {
		item := member(members, name)
		s, isString := stringMember(item, "stringValue")
		if !exactly(item, "stringValue") || !isString {
			return nil
		}
		ref.Members = append(ref.Members, auditformat.Member{Name: name, Value: auditformat.Value{Kind: auditformat.String, Str: s}})
	}
	if referenceProblem(ref) != "" {
		return nil
	}
	return &signatureKey{text(ref, "stream"), text(ref, "seq"), text(ref, "hash")}
}

// checkDecisions runs after the signatures' links: bound holds every valid signature record -> its signer's user id.
func (p *part11Verifier) checkDecisions(bound map[signatureKey]string) []Problem {
	var problems []Problem
	cited := map[signatureKey]bool{}
	for i := range p.decisions {
		d := &p.decisions[i]
		why := ""
		switch {
		case d.ref == nil:
			why = "recorded as e-signed without a signature reference {stream, seq, hash} in its body"
		default:
			signer, valid := bound[*d.ref]
			refSeq, _ := strconv.ParseInt(d.ref.seq, 10, 64)
			switch {
			case !valid && p.purgedSeq(d.ref.stream, refSeq):
			case !valid:
				why = fmt.Sprintf("recorded as e-signed, but %s seq %s is not a valid e-signature of this trail", d.ref.stream, d.ref.seq)
			case signer != d.responder:
				why = fmt.Sprintf("recorded as e-signed by %q, but the signature is %q's", d.responder, signer)
			case d.ref.stream == d.stream && refSeq >= d.seq:
				why = "a decision can only cite an earlier signature of its stream"
			case cited[*d.ref]:
				why = fmt.Sprintf("%s seq %s is already cited by an earlier e-signed decision", d.ref.stream, d.ref.seq)
			}
			cited[*d.ref] = true
		}
		if why != "" {
			problems = append(problems, Problem{File: d.file, Line: intPtr(d.line), Seq: seqPtr(d.seq), Kind: "decision-signature", Detail: why, Stream: d.stream})
		}
	}
	return problems
}
