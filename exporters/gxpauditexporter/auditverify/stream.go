package auditverify

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

var statementMembers = []string{"file", "format", "head", "reason", "seq", "stream", "time"}

// held is a checkpoint statement held outside the chain: the first line naming its seq, and every such line.
type held struct {
	head   string
	source string
	line   int
	lines  []heldLine
}

type heldLine struct {
	source string
	number int
	body   auditformat.Value
}

// missingRange is a run of seqs skipped by the chain, remembered where the skip was seen.
type missingRange struct {
	first, last int64
	file        string
	line        int
}

// streamVerifier runs §10 over one stream, reading its files in order in constant memory (apart from the held
// checkpoint statements).
type streamVerifier struct {
	dir      *trailDir
	files    []auditformat.ChainFile
	trusted  map[string]ed25519.PublicKey
	summary  StreamSummary
	problems []Problem

	expected   int64
	lastHash   string
	resync     bool
	started    bool
	keys       map[string]ed25519.PublicKey
	keyInForce string
	missing    []missingRange
	held       map[int64]*held
	heldOrder  []int64
	lastFile   string
	lastLine   int
	rotations  int
}

func (v *streamVerifier) report(file string, line *int, seq *int64, kind, detail string) {
	v.problems = append(v.problems, Problem{File: file, Line: line, Seq: seq, Kind: kind, Detail: detail, Stream: v.summary.Stream})
}

func (v *streamVerifier) run(extraHeld []string) {
	stream := v.summary.Stream
	v.loadHeld(auditformat.CheckpointFileName(stream), true)
	for _, source := range extraHeld {
		v.loadHeld(source, false)
	}
	v.resync = true
	if len(v.files) == 0 {
		v.report(auditformat.ChainFileName(stream, 1), nil, nil, "missing-file", "checkpoints exist but no chain file")
	}
	expectedIndex := 1
	for _, cf := range v.files {
		for missing := expectedIndex; missing < cf.Index; missing++ {
			v.report(auditformat.ChainFileName(stream, missing), nil, nil, "missing-file", "chain file number is absent")
			v.resync = true
		}
		expectedIndex = cf.Index + 1
		f, err := v.dir.open(cf.Name())
		if err != nil { // not a regular file (§2.1), or it vanished while the trail was read
			v.report(cf.Name(), nil, nil, "missing-file", err.Error())
			v.resync = true
			continue
		}
		v.summary.Files = append(v.summary.Files, cf.Name())
		number, err := eachLine(f, cf.Compressed, func(number int, raw []byte, problem *readProblem) {
			if problem != nil {
				v.report(cf.Name(), intPtr(number), nil, problem.kind, problem.detail)
				v.resync = true
				return
			}
			v.line(raw, cf, number)
		})
		f.Close()
		if err != nil {
			v.report(cf.Name(), intPtr(number+1), nil, auditformat.ProblemTorn, "the file could not be read to its end: "+err.Error())
			v.resync = true
		}
		v.lastFile, v.lastLine = cf.Name(), number
	}
	v.finish()
}

func (v *streamVerifier) line(raw []byte, cf auditformat.ChainFile, number int) {
	name := cf.Name()
	if raw[len(raw)-1] != '\n' {
		v.report(name, intPtr(number), nil, auditformat.ProblemTorn, fmt.Sprintf("last line has no newline (%d bytes)", len(raw)))
		v.resync = true
		return
	}
	rec, problem, detail := auditformat.CheckLine(raw[:len(raw)-1])
	if problem != "" {
		var seq *int64
		if problem != auditformat.ProblemMalformed {
			seq = seqPtr(int64(rec.Seq))
		}
		v.report(name, intPtr(number), seq, problem, detail)
		v.resync = true
		return
	}
	seq := int64(rec.Seq)
	if rec.Stream != v.summary.Stream {
		v.report(name, intPtr(number), seqPtr(seq), "malformed", fmt.Sprintf("record of stream %q in this stream's file", rec.Stream))
		return
	}
	v.summary.Records++
	if !v.started {
		v.started = true
		if !(seq == 0 && rec.Kind == auditformat.KindGenesis && cf.Index == 1 && number == 1) {
			v.report(name, intPtr(number), seqPtr(seq), "bad-genesis", "the first record is not a genesis record with seq 0")
		}
		v.resync = true
	}
	switch {
	case v.resync:
		v.resync = false
	case seq == v.expected:
		if rec.Prev != v.lastHash {
			v.report(name, intPtr(number), seqPtr(seq), "inserted", "prev does not match the hash of the record before")
		}
	case seq > v.expected:
		v.missing = append(v.missing, missingRange{v.expected, seq - 1, name, number})
	default:
		v.outOfOrder(name, number, seq)
		return
	}
	v.expected, v.lastHash = seq+1, rec.Hash
	v.observe(&rec, seq, cf, number)
}

func (v *streamVerifier) outOfOrder(name string, number int, seq int64) {
	for i, m := range v.missing {
		if m.first <= seq && seq <= m.last {
			v.report(name, intPtr(number), seqPtr(seq), "reordered", fmt.Sprintf("seq %d appears after seq %d", seq, v.expected-1))
			var pieces []missingRange
			if m.first <= seq-1 {
				pieces = append(pieces, missingRange{m.first, seq - 1, m.file, m.line})
			}
			if seq+1 <= m.last {
				pieces = append(pieces, missingRange{seq + 1, m.last, m.file, m.line})
			}
			v.missing = append(v.missing[:i], append(pieces, v.missing[i+1:]...)...)
			return
		}
	}
	v.report(name, intPtr(number), seqPtr(seq), "duplicate", fmt.Sprintf("seq %d was already seen (expected %d)", seq, v.expected))
}

func (v *streamVerifier) observe(rec *auditformat.Record, seq int64, cf auditformat.ChainFile, number int) {
	name := cf.Name()
	v.summary.LastSeq, v.summary.Head, v.summary.Closed = seqPtr(seq), rec.Hash, false
	if h := v.held[seq]; h != nil && h.head != rec.Hash {
		v.report(name, intPtr(number), seqPtr(seq), "rewritten", fmt.Sprintf("%s line %d sealed a different record", h.source, h.line))
	}
	switch rec.Kind {
	case auditformat.KindGenesis, auditformat.KindRecovery:
		v.takeKey(&rec.Body, seq, name, number)
		v.summary.Sessions++
	case auditformat.KindCheckpoint:
		v.checkpoint(rec, seq, cf, number)
	case auditformat.KindRotation:
		v.rotations++
	}
}

func stringMember(v *auditformat.Value, name string) (string, bool) {
	m, ok := v.Get(name)
	if !ok || m.Kind != auditformat.String {
		return "", false
	}
	return m.Str, true
}

func (v *streamVerifier) takeKey(body *auditformat.Value, seq int64, name string, number int) {
	keyID, ok1 := stringMember(body, "key_id")
	public, ok2 := stringMember(body, "public_key")
	if !ok1 || !ok2 {
		v.report(name, intPtr(number), seqPtr(seq), "malformed", "genesis/recovery record without key_id and public_key")
		return
	}
	if keyID != auditformat.UnsignedKeyID {
		pub, ok := decodePublic(public)
		if !ok || auditformat.KeyID(pub) != keyID {
			v.report(name, intPtr(number), seqPtr(seq), "malformed", "public_key does not match key_id")
			return
		}
		v.keys[keyID] = pub
	}
	if v.keyInForce != keyID && v.summary.Sessions > 0 {
		v.summary.Notes = append(v.summary.Notes, fmt.Sprintf("checkpoint key changed to %s at seq %d", keyID, seq))
	}
	v.keyInForce = keyID
	for _, k := range v.summary.KeyIDs {
		if k == keyID {
			return
		}
	}
	v.summary.KeyIDs = append(v.summary.KeyIDs, keyID)
}

// signatureProblem judges a checkpoint's key and signature: the problem kind and detail, or "" when it is good.
func (v *streamVerifier) signatureProblem(keyID string, statement *auditformat.Value, signature string) (string, string) {
	if len(v.trusted) > 0 && v.trusted[keyID] == nil {
		return "untrusted-key", fmt.Sprintf("signed by %s, which is not a trusted key", keyID)
	}
	if keyID == auditformat.UnsignedKeyID {
		return "", ""
	}
	pub := v.trusted[keyID]
	if pub == nil {
		pub = v.keys[keyID]
	}
	if pub == nil {
		return "bad-signature", "signed by unknown key " + keyID
	}
	if !verifySignature(pub, statement, signature) {
		return "bad-signature", "signature does not verify under " + keyID
	}
	return "", ""
}

// checkpointShape returns the statement, key id and signature of a checkpoint body with the §7 shape.
func checkpointShape(body *auditformat.Value) (*auditformat.Value, string, string, bool) {
	statement, ok := body.Get("statement")
	keyID, ok1 := stringMember(body, "key_id")
	signature, ok2 := stringMember(body, "signature")
	if !ok || !ok1 || !ok2 || statement.Kind != auditformat.Object || len(statement.Members) != len(statementMembers) {
		return nil, "", "", false
	}
	for _, name := range statementMembers {
		if _, ok := statement.Get(name); !ok {
			return nil, "", "", false
		}
	}
	return statement, keyID, signature, true
}

func (v *streamVerifier) checkpoint(rec *auditformat.Record, seq int64, cf auditformat.ChainFile, number int) {
	name := cf.Name()
	statement, keyID, signature, ok := checkpointShape(&rec.Body)
	if !ok {
		v.report(name, intPtr(number), seqPtr(seq), "malformed", "checkpoint body does not have the §7 shape")
		return
	}
	var wrong []string
	for _, want := range [][2]string{{"stream", v.summary.Stream}, {"seq", strconv.FormatInt(seq-1, 10)}, {"head", rec.Prev}, {"file", cf.Plain()}} {
		if got, ok := stringMember(statement, want[0]); !ok || got != want[1] {
			wrong = append(wrong, want[0])
		}
	}
	if len(wrong) > 0 {
		v.report(name, intPtr(number), seqPtr(seq), "checkpoint-mismatch", fmt.Sprintf("statement %v do not match the chain", wrong))
	}
	if keyID != v.keyInForce {
		v.report(name, intPtr(number), seqPtr(seq), "bad-signature", fmt.Sprintf("signed by %s, the key in force is %s", keyID, v.keyInForce))
		return
	}
	if kind, detail := v.signatureProblem(keyID, statement, signature); kind != "" {
		v.report(name, intPtr(number), seqPtr(seq), kind, detail)
		return
	}
	v.summary.Checkpoints++
	if keyID != auditformat.UnsignedKeyID {
		v.summary.SignedCheckpoints++
	}
	reason, _ := stringMember(statement, "reason")
	v.summary.Closed = reason == auditformat.ReasonClose
}

// loadHeld reads a held checkpoint file: the stream's own (a name in the trail directory, no link followed) or one
// the user named; absent is nothing, not a regular file is bad-checkpoint-file. Signatures are judged at the end
// of the stream, once the keys are known.
func (v *streamVerifier) loadHeld(source string, own bool) {
	var f *os.File
	var err error
	if own {
		f, err = v.dir.open(source)
	} else {
		f, err = openUserFile(source)
	}
	base := filepath.Base(source)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		v.report(base, nil, nil, "bad-checkpoint-file", err.Error())
		return
	}
	defer f.Close()
	number, err := eachLine(f, false, func(number int, raw []byte, problem *readProblem) {
		if problem != nil {
			v.report(base, intPtr(number), nil, "bad-checkpoint-file", problem.detail)
			return
		}
		body, statement, seq, ok := parseHeldLine(raw)
		if !ok {
			v.report(base, intPtr(number), nil, "bad-checkpoint-file", "not a canonical checkpoint line")
			return
		}
		if stream, _ := stringMember(statement, "stream"); stream != v.summary.Stream {
			return
		}
		h := v.held[seq]
		if h == nil {
			head, _ := stringMember(statement, "head")
			h = &held{head: head, source: base, line: number}
			v.held[seq] = h
			v.heldOrder = append(v.heldOrder, seq)
		}
		h.lines = append(h.lines, heldLine{source: base, number: number, body: body})
	})
	if err != nil {
		v.report(base, intPtr(number+1), nil, "bad-checkpoint-file", "could not be read to its end: "+err.Error())
	}
}

func parseHeldLine(raw []byte) (auditformat.Value, *auditformat.Value, int64, bool) {
	if len(raw) == 0 || raw[len(raw)-1] != '\n' {
		return auditformat.Value{}, nil, 0, false
	}
	body, err := auditformat.ParseJSON(raw[:len(raw)-1])
	if err != nil || body.Kind != auditformat.Object {
		return auditformat.Value{}, nil, 0, false
	}
	statement, ok := body.Get("statement")
	if !ok || statement.Kind != auditformat.Object || len(statement.Members) != len(statementMembers) {
		return auditformat.Value{}, nil, 0, false
	}
	for _, name := range statementMembers {
		if _, ok := statement.Get(name); !ok {
			return auditformat.Value{}, nil, 0, false
		}
	}
	canonical, err := auditformat.AppendCanonical(nil, &body)
	if err != nil || !bytes.Equal(canonical, raw[:len(raw)-1]) {
		return auditformat.Value{}, nil, 0, false
	}
	seqText, ok := stringMember(statement, "seq")
	if !ok || !auditformat.SeqPattern.MatchString(seqText) {
		return auditformat.Value{}, nil, 0, false
	}
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil {
		return auditformat.Value{}, nil, 0, false
	}
	statement, _ = body.Get("statement")
	return body, statement, seq, true
}

func (v *streamVerifier) finish() {
	for _, m := range v.missing {
		v.report(m.file, intPtr(m.line), seqPtr(m.first), "deleted", fmt.Sprintf("%d record(s) missing: seq %d..%d", m.last-m.first+1, m.first, m.last))
	}
	top := int64(-1)
	for seq := range v.held {
		if (v.summary.LastSeq == nil || seq > *v.summary.LastSeq) && seq > top {
			top = seq
		}
	}
	if top >= 0 {
		h := v.held[top]
		file, line := v.lastFile, intPtr(v.lastLine)
		if file == "" {
			file = h.source
		}
		if v.lastLine == 0 {
			line = nil
		}
		v.report(file, line, seqPtr(top), "truncated", fmt.Sprintf("%s line %d seals seq %d beyond the end of the chain", h.source, h.line, top))
	}
	for _, seq := range v.heldOrder {
		for _, hl := range v.held[seq].lines {
			statement, _ := hl.body.Get("statement")
			keyID, _ := stringMember(&hl.body, "key_id")
			signature, _ := stringMember(&hl.body, "signature")
			if kind, detail := v.signatureProblem(keyID, statement, signature); kind != "" {
				v.report(hl.source, intPtr(hl.number), seqPtr(seq), "bad-checkpoint-file", detail)
			}
		}
	}
	if len(v.trusted) > 0 {
		v.summary.KeySource = "trusted keys given"
	} else {
		v.summary.KeySource = "taken from the trail itself (genesis)"
	}
	if v.summary.Checkpoints > 0 && v.summary.SignedCheckpoints == 0 {
		v.summary.Notes = append(v.summary.Notes, "checkpoints are unsigned: they detect accidents, not deliberate edits")
	}
	if len(v.files) > 0 && v.rotations >= len(v.files) {
		next := auditformat.ChainFileName(v.summary.Stream, v.files[len(v.files)-1].Index+1)
		for _, p := range v.problems {
			if p.File == next {
				return
			}
		}
		v.report(next, nil, nil, "missing-file", "the last file ends with a rotation to this file")
	}
}
