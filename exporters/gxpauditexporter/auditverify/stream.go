package auditverify

import (
	"crypto/ed25519"
	"fmt"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// missingRange is a run of seqs skipped by the chain, remembered where the skip was seen.
type missingRange struct {
	first, last int64
	file        string
	line        int
}

// location is where a record was read.
type location struct {
	file string
	line int
	seq  int64
}

// streamVerifier runs §10 over one stream, reading its files in order in constant memory (apart from the held
// checkpoint statements). Not safe for concurrent use.
type streamVerifier struct {
	dir      *trailDir
	files    []auditformat.ChainFile
	trusted  map[string]ed25519.PublicKey // writer trust anchors (§1.1); empty: self-keyed
	summary  StreamSummary
	problems []Problem
	held     *held

	version   string // the genesis format, "" until the genesis was read
	genesis   string // the genesis record's hash: the stream's identity (§7)
	retention string // the genesis record's retention_days

	expected   uint64 // last accepted seq + 1: up to 2^63 after seq MaxSeq (an int64 wrapped there)
	lastHash   string
	resync     bool
	started    bool
	keys       map[string]ed25519.PublicKey // the keys seen in the chain (§10.3)
	keyInForce string
	missing    []missingRange
	lastFile   string
	lastLine   int
	rotations  int
	afterClose bool // the last accepted record is a close checkpoint

	sealedThrough int64     // seq of the last trusted seal, -1 before one (§10.6)
	unsealed      *location // the first accepted record after the last trusted seal
	part11        *part11Verifier
	lines         auditformat.LineChecker // span and log lines without a value tree
	named         auditformat.ChainFile   // the file whose name is in name: cf.Name() formats, once per file
	name          string
}

func (v *streamVerifier) anchored() bool { return len(v.trusted) > 0 }

func (v *streamVerifier) report(file string, line *int, seq *int64, kind, detail string) {
	v.problems = append(v.problems, Problem{File: file, Line: line, Seq: seq, Kind: kind, Detail: detail, Stream: v.summary.Stream})
}

func (v *streamVerifier) run() {
	stream := v.summary.Stream
	v.resync, v.sealedThrough, v.keyInForce = true, -1, auditformat.UnsignedKeyID
	expectedIndex := 1
	for _, cf := range v.files {
		for missing := expectedIndex; missing < cf.Index; missing++ {
			name := auditformat.ChainFileName(stream, missing)
			if v.part11.purged(v, name) {
				continue
			}
			v.report(name, nil, nil, "missing-file", "chain file number is absent")
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
		if !cf.Compressed {
			if why := v.dir.secondCopyProblem(cf.Name(), f); why != "" { // §2: plain and .gz must be one content
				v.report(cf.Name(), nil, nil, "copies-differ", why)
			}
		}
		number, err := eachLine(f, cf.Compressed, func(number int, raw []byte, problem *readProblem) {
			if problem != nil {
				v.report(cf.Name(), intPtr(number), nil, problem.Kind, problem.Detail)
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

func (v *streamVerifier) nameOf(cf auditformat.ChainFile) string {
	if v.name == "" || v.named != cf {
		v.named, v.name = cf, cf.Name()
	}
	return v.name
}

func (v *streamVerifier) line(raw []byte, cf auditformat.ChainFile, number int) {
	name := v.nameOf(cf)
	if raw[len(raw)-1] != '\n' {
		v.report(name, intPtr(number), nil, auditformat.ProblemTorn, fmt.Sprintf("last line has no newline (%d bytes)", len(raw)))
		v.resync = true
		return
	}
	rec, problem, detail := v.lines.Check(raw[:len(raw)-1])
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
		v.resync = true
		return
	}
	v.summary.Records++
	firstGenesis := false
	if !v.started {
		v.started = true
		firstGenesis = rec.Kind == auditformat.KindGenesis // it sets the key in force even where it is misplaced
		if !(firstGenesis && seq == 0 && cf.Index == 1 && number == 1 && rec.Prev == auditformat.ZeroHash) {
			v.report(name, intPtr(number), seqPtr(seq), "bad-genesis", "the first record is not a genesis record with seq 0 and a zero prev")
		}
		v.resync = true
	}
	switch {
	case v.resync:
		v.resync = false
	case uint64(seq) == v.expected:
		if rec.Prev != v.lastHash {
			v.report(name, intPtr(number), seqPtr(seq), "inserted", "prev does not match the hash of the record before")
		}
	case uint64(seq) > v.expected:
		v.missing = append(v.missing, missingRange{int64(v.expected), seq - 1, name, number})
	default:
		v.outOfOrder(name, number, seq)
		return
	}
	v.expected, v.lastHash = uint64(seq)+1, rec.Hash
	if rec.Kind == auditformat.KindGenesis && !firstGenesis { // judged once accepted: a duplicate is only duplicate
		v.report(name, intPtr(number), seqPtr(seq), "bad-genesis", "a second genesis record in the stream")
	}
	v.observe(&rec, seq, cf, number, firstGenesis)
	if rec.Kind == auditformat.KindLog {
		v.part11.decision(v, raw[:len(raw)-1], seq, name, number) // an e-signed decision (§12.4)?
	}
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

// observe applies the checks of an accepted record: held references, records after close, keys, checkpoints,
// sealing and the Part 11 records.
func (v *streamVerifier) observe(rec *auditformat.Record, seq int64, cf auditformat.ChainFile, number int, firstGenesis bool) {
	name := v.nameOf(cf)
	if v.summary.LastSeq == nil { // set in place afterwards: no allocation per record (only read through, at the end)
		v.summary.LastSeq = seqPtr(seq)
	}
	*v.summary.LastSeq, v.summary.Head, v.summary.Closed = seq, rec.Hash, false
	if ref := v.held.ref(seq); ref != nil && ref.head != rec.Hash {
		v.report(name, intPtr(number), seqPtr(seq), "rewritten", fmt.Sprintf("%s line %d sealed a different record", ref.source, ref.number))
	}
	// After close (§10.3): until the recovery record, only a rotation and its rotation checkpoint may come (a
	// restarted writer that finds the closed file full rotates before it writes the recovery record).
	switch rec.Kind {
	case auditformat.KindRecovery, auditformat.KindRotation, auditformat.KindCheckpoint:
	default:
		if v.afterClose {
			v.report(name, intPtr(number), seqPtr(seq), "after-close", "a "+rec.Kind+" record after the close checkpoint without a recovery record")
		}
	}
	v.afterClose = v.afterClose && (rec.Kind == auditformat.KindRotation || rec.Kind == auditformat.KindCheckpoint)
	if v.unsealed == nil {
		v.unsealed = &location{name, number, seq}
	}
	switch rec.Kind {
	case auditformat.KindGenesis:
		if firstGenesis {
			v.takeGenesis(rec, seq, name, number)
		}
	case auditformat.KindRecovery:
		v.takeRecoveryKey(&rec.Body, seq, name, number)
		v.summary.Sessions++
	case auditformat.KindCheckpoint:
		if v.checkpoint(rec, seq, cf, number) && v.anchored() {
			v.sealedThrough, v.unsealed = seq, nil
		}
		reason := checkpointReason(rec)
		if v.afterClose && reason != auditformat.ReasonRotation {
			v.report(name, intPtr(number), seqPtr(seq), "after-close", "a checkpoint after the close checkpoint without a recovery record")
		}
		v.afterClose = reason == auditformat.ReasonClose || (v.afterClose && reason == auditformat.ReasonRotation)
	case auditformat.KindRotation:
		v.rotations++
	case "signature", "correction", "purge":
		v.part11.record(v, rec, seq, name, number)
	}
}

func stringMember(v *auditformat.Value, name string) (string, bool) {
	m, ok := v.Get(name)
	if !ok || m.Kind != auditformat.String {
		return "", false
	}
	return m.Str, true
}

// recordKey reads key_id and public_key of a genesis or recovery body; ok is false (and a malformed problem
// reported) when they are absent or do not match.
func (v *streamVerifier) recordKey(body *auditformat.Value, seq int64, name string, number int) (string, bool) {
	keyID, ok1 := stringMember(body, "key_id")
	public, ok2 := stringMember(body, "public_key")
	if !ok1 || !ok2 {
		v.report(name, intPtr(number), seqPtr(seq), "malformed", "genesis/recovery record without key_id and public_key")
		return "", false
	}
	if keyID == auditformat.UnsignedKeyID {
		return keyID, true
	}
	// 64 lowercase hex digits (§3), as Python requires: an upper-cased copy decodes to the same key but is no
	// key of the chain's (signatures are verified only under the recorded form).
	pub, ok := decodePublic(public)
	if !ok || !auditformat.Hex64Pattern.MatchString(public) || auditformat.KeyID(pub) != keyID {
		v.report(name, intPtr(number), seqPtr(seq), "malformed", "public_key does not match key_id")
		return "", false
	}
	v.keys[keyID] = pub
	return keyID, true
}

func (v *streamVerifier) takeGenesis(rec *auditformat.Record, seq int64, name string, number int) {
	format, _ := stringMember(&rec.Body, "format")
	if format != formatV1 && format != formatV2 {
		v.report(name, intPtr(number), seqPtr(seq), "malformed", fmt.Sprintf("genesis format %q is not a known version", format))
		return
	}
	v.version, v.genesis = format, rec.Hash
	v.retention, _ = stringMember(&rec.Body, "retention_days")
	v.summary.Sessions++
	if keyID, ok := v.recordKey(&rec.Body, seq, name, number); ok {
		v.keyInForce = keyID
		v.noteKey(keyID)
	}
}

// takeRecoveryKey applies §6.2: a recovery record naming another key changes the key in force; only a writer trust
// anchor authorises the change (self-keyed, every change is key-change).
func (v *streamVerifier) takeRecoveryKey(body *auditformat.Value, seq int64, name string, number int) {
	keyID, ok := v.recordKey(body, seq, name, number)
	if !ok || keyID == v.keyInForce {
		return
	}
	switch {
	case !v.anchored():
		v.report(name, intPtr(number), seqPtr(seq), "key-change", fmt.Sprintf("the key in force changes from %s to %s, and no writer trust anchor authorises it", v.keyInForce, keyID))
	case v.trusted[keyID] == nil:
		v.report(name, intPtr(number), seqPtr(seq), "key-change", fmt.Sprintf("the key in force changes to %s, which is not a trusted writer key", keyID))
	default:
		v.summary.Notes = append(v.summary.Notes, fmt.Sprintf("checkpoint key changed to %s at seq %d (a trusted writer key)", keyID, seq))
	}
	v.keyInForce = keyID
	v.noteKey(keyID)
}

func (v *streamVerifier) noteKey(keyID string) {
	for _, k := range v.summary.KeyIDs {
		if k == keyID {
			return
		}
	}
	v.summary.KeyIDs = append(v.summary.KeyIDs, keyID)
}

func (v *streamVerifier) finish() {
	for _, m := range v.missing {
		v.report(m.file, intPtr(m.line), seqPtr(m.first), "deleted", fmt.Sprintf("%d record(s) missing: seq %d..%d", m.last-m.first+1, m.first, m.last))
	}
	v.finishHeld()
	if v.anchored() && v.summary.Records > 0 {
		switch {
		case v.sealedThrough < 0:
			v.report(v.files[0].Name(), nil, nil, "unknown-stream", "no checkpoint of this stream is signed by a trusted writer key")
		case v.unsealed != nil:
			u := v.unsealed
			v.report(u.file, intPtr(u.line), seqPtr(u.seq), "unsealed-tail", fmt.Sprintf("verified through seq %d; %d record(s) not yet sealed", v.sealedThrough, *v.summary.LastSeq-v.sealedThrough))
		}
	}
	if v.anchored() {
		v.summary.KeySource = "trusted writer keys given"
	} else {
		v.summary.KeySource = "taken from the trail itself (self-keyed)"
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

// finishHeld reports what the held checkpoints say after the chain: a cut tail, then every held line whose
// signature does not verify (anchored: under a trusted writer key; self-keyed: under a key seen in the chain).
func (v *streamVerifier) finishHeld() {
	top := int64(-1)
	var topLine *heldLine
	for i := range v.held.lines {
		h := &v.held.lines[i]
		if (v.summary.LastSeq == nil || h.seq > *v.summary.LastSeq) && h.seq > top {
			top, topLine = h.seq, v.held.ref(h.seq)
		}
	}
	if topLine != nil {
		file, line := v.lastFile, intPtr(v.lastLine)
		if file == "" {
			file = topLine.source
		}
		if v.lastLine == 0 {
			line = nil
		}
		v.report(file, line, seqPtr(top), "truncated", fmt.Sprintf("%s line %d seals seq %d beyond the end of the chain", topLine.source, topLine.number, top))
	}
	for _, hl := range v.held.lines {
		statement, _ := hl.body.Get("statement")
		keyID, _ := stringMember(&hl.body, "key_id")
		signature, _ := stringMember(&hl.body, "signature")
		if kind, detail := v.signatureProblem(keyID, statement, signature); kind != "" {
			v.report(hl.source, intPtr(hl.number), seqPtr(hl.seq), "bad-checkpoint-file", detail)
		}
	}
}
