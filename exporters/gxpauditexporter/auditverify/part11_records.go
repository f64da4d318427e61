package auditverify

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// record applies §12 to an accepted record of a reserved kind; references are checked in finish.
func (p *part11Verifier) record(v *streamVerifier, rec *auditformat.Record, seq int64, file string, line int) {
	stream := v.summary.Stream
	switch rec.Kind {
	case "purge":
		if stream != retentionStream {
			v.report(file, intPtr(line), seqPtr(seq), "bad-purge", "purge records belong in the stream "+strconv.Quote(retentionStream))
			return
		}
		switch problem, ok := p.purgeProblems[at(file, line)]; {
		case ok && problem[0] == "not-honoured":
			v.summary.Notes = append(v.summary.Notes, fmt.Sprintf("tombstone at seq %d not honoured: no purger registry given (--purger)", seq))
		case ok:
			v.report(file, intPtr(line), seqPtr(seq), problem[0], problem[1])
		}
		return
	case "signature":
		if why := signatureProblem(&rec.Body); why != "" {
			v.report(file, intPtr(line), seqPtr(seq), "bad-esignature", why)
			return
		}
		statement := member(&rec.Body, "statement")
		signer := member(statement, "signer")
		identity := [2]string{text(signer, "printed_name"), text(signer, "user_id")}
		keyID := text(statement, "key_id")
		registered, ok := p.signers[keyID]
		// With a registry entry for the key, the registered identity decides (§12.1), not the first one signed
		// under it: a signature under another identity before the registered one must not make it a problem.
		if !ok {
			known, seen := p.identities[keyID]
			if !seen {
				p.identities[keyID], known = identity, identity
			}
			if known != identity {
				v.report(file, intPtr(line), seqPtr(seq), "bad-esignature", fmt.Sprintf("key %s signs as %s but signed as %s before (11.100)", keyID, identity[1], known[1]))
				return
			}
		}
		if ok && (registered.PrintedName != identity[0] || registered.UserID != identity[1]) {
			v.report(file, intPtr(line), seqPtr(seq), "bad-esignature", fmt.Sprintf("%s is registered to %s (%s), not %s (%s)", keyID, registered.PrintedName, registered.UserID, identity[0], identity[1]))
			return
		}
		if p.anyAnchor && (!ok || registered.PublicKey != text(statement, "public_key")) {
			v.report(file, intPtr(line), seqPtr(seq), "untrusted-key", "signed by "+keyID+", which is not in the signer registry (--signer)")
			return
		}
		p.pend(rec, stream, file, line, seq, member(statement, "record"))
	case "correction":
		if why := correctionProblem(&rec.Body); why != "" {
			v.report(file, intPtr(line), seqPtr(seq), "bad-correction", why)
			return
		}
		p.pend(rec, stream, file, line, seq, member(&rec.Body, "original"))
	}
}

func (p *part11Verifier) pend(rec *auditformat.Record, stream, file string, line int, seq int64, ref *auditformat.Value) {
	refSeq, _ := referenceSeq(ref)
	item := pendingReference{kind: rec.Kind, body: rec.Body, stream: stream, file: file, line: line, seq: seq,
		refStream: text(ref, "stream"), refSeq: refSeq, refHash: text(ref, "hash"), hash: strings.Clone(rec.Hash)}
	p.pending = append(p.pending, item)
}

type position struct {
	stream string
	seq    int64
}

// finish checks every reference against the trail (a second pass over the referenced streams only).
func (p *part11Verifier) finish(chains map[string][]auditformat.ChainFile) []Problem {
	if len(p.pending) == 0 {
		return p.checkDecisions(nil)
	}
	wanted := map[string]map[int64]bool{}
	for _, item := range p.pending {
		if wanted[item.refStream] == nil {
			wanted[item.refStream] = map[int64]bool{}
		}
		wanted[item.refStream][item.refSeq] = true
	}
	found := map[position][]auditformat.Record{}
	for stream, seqs := range wanted {
		p.intactRecords(dedupe(chains[stream]), func(rec *auditformat.Record, _ string, _ int) {
			if rec.Stream == stream && seqs[int64(rec.Seq)] {
				at := position{stream, int64(rec.Seq)}
				found[at] = append(found[at], *rec)
			}
		})
	}
	var problems []Problem
	bound := map[signatureKey]string{} // valid signature records -> the signer's user id (§12.4)
	copies := map[string]int{}
	for i := range p.pending {
		if p.pending[i].kind == "signature" {
			copies[text(&p.pending[i].body, "signature")]++
		}
	}
	for i := range p.pending {
		item := &p.pending[i]
		if n := copies[text(&item.body, "signature")]; item.kind == "signature" && n > 1 { // a copied signature (11.70)
			problems = append(problems, Problem{File: item.file, Line: intPtr(item.line), Seq: seqPtr(item.seq), Kind: "bad-esignature",
				Detail: fmt.Sprintf("the same signature is in %d signature records: a copy (11.70)", n), Stream: item.stream})
			continue
		}
		kind, why := p.linkProblem(item, found[position{item.refStream, item.refSeq}])
		if why != "" {
			problems = append(problems, Problem{File: item.file, Line: intPtr(item.line), Seq: seqPtr(item.seq), Kind: kind, Detail: why, Stream: item.stream})
		} else if item.kind == "signature" {
			bound[signatureKey{item.stream, strconv.FormatInt(item.seq, 10), item.hash}] = text(member(member(&item.body, "statement"), "signer"), "user_id")
		}
		p.manifest(item, why == "")
	}
	return append(problems, p.checkDecisions(bound)...)
}

// Manifestation is what every rendering of an electronic signature or correction shows (11.50: printed name, UTC
// time and meaning of a signature), with where it is and whether it is bound to the record it names.
type Manifestation struct {
	Kind        string `json:"kind"` // signature or correction
	Stream      string `json:"stream"`
	Seq         int64  `json:"seq"`
	File        string `json:"file"`
	Line        int    `json:"line"`
	Record      string `json:"record"` // "<stream> seq <n>" of the record signed or corrected
	PrintedName string `json:"printed_name"`
	UserID      string `json:"user_id"`
	Meaning     string `json:"meaning,omitempty"` // signatures
	Time        string `json:"time,omitempty"`    // signatures: the UTC time of signing
	Reason      string `json:"reason"`
	Path        string `json:"path,omitempty"` // corrections
	Linked      bool   `json:"linked"`
}

func (p *part11Verifier) manifest(item *pendingReference, linked bool) {
	m := Manifestation{Kind: item.kind, Stream: item.stream, Seq: item.seq, File: item.file, Line: item.line,
		Record: fmt.Sprintf("%s seq %d", item.refStream, item.refSeq), Linked: linked}
	if item.kind == "signature" {
		s := member(&item.body, "statement")
		signer := member(s, "signer")
		m.PrintedName, m.UserID = text(signer, "printed_name"), text(signer, "user_id")
		m.Meaning, m.Time, m.Reason = text(s, "meaning"), text(s, "time"), text(s, "reason")
	} else {
		by := member(&item.body, "corrected_by")
		m.PrintedName, m.UserID = text(by, "printed_name"), text(by, "user_id")
		m.Reason, m.Path = text(&item.body, "reason"), text(&item.body, "path")
	}
	p.manifestations = append(p.manifestations, m)
}

func (p *part11Verifier) linkProblem(item *pendingReference, candidates []auditformat.Record) (string, string) {
	link := "esignature-link"
	if item.kind == "correction" {
		link = "correction-link"
	}
	var hit *auditformat.Record
	for i := range candidates {
		if candidates[i].Hash == item.refHash {
			hit = &candidates[i]
			break
		}
	}
	where := fmt.Sprintf("%s seq %d", item.refStream, item.refSeq)
	switch {
	case hit == nil && len(candidates) > 0:
		return link, where + " has another hash than the one referenced"
	case hit == nil && p.purgedSeq(item.refStream, item.refSeq):
		return link, ""
	case hit == nil:
		return link, "the referenced record " + where + " is not in the trail"
	case item.refStream == item.stream && item.refSeq >= item.seq:
		return link, "a record can only refer to an earlier record of its stream"
	case item.kind == "correction":
		return "bad-correction", p.oldValueProblem(item, hit)
	}
	return link, ""
}

func (p *part11Verifier) purgedSeq(stream string, seq int64) bool {
	for _, t := range p.tombstones[stream] {
		first, _ := strconv.ParseInt(text(t.entry, "first_seq"), 10, 64)
		last, _ := strconv.ParseInt(text(t.entry, "last_seq"), 10, 64)
		if first <= seq && seq <= last {
			return true
		}
	}
	return false
}

// oldValueProblem: old_value is the value at path in the original, or the new_value of another correction of the
// same original and path.
func (p *part11Verifier) oldValueProblem(item *pendingReference, original *auditformat.Record) string {
	path := text(&item.body, "path")
	old := member(&item.body, "old_value")
	if value, ok := pointerGet(&original.Body, path); ok && sameJSON(value, old) {
		return ""
	}
	ref := member(&item.body, "original")
	for i := range p.pending {
		other := &p.pending[i]
		if other == item || other.kind != "correction" {
			continue
		}
		if sameJSON(member(&other.body, "original"), ref) && text(&other.body, "path") == path &&
			sameJSON(member(&other.body, "new_value"), old) {
			return ""
		}
	}
	return "old_value is not the value at " + path + " in the original or in an earlier correction"
}
