package auditverify

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"strconv"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// Held checkpoints (docs/audit-format.md §10.5): checkpoint statements kept outside the chain. The --checkpoints
// files (the auditor's evidence) are read first, in the order given, then the stream's own checkpoint file (the
// writer host's evidence); every line is kept, and the first line for a seq is the reference the chain is held to.

// Statement members of the two format versions (§7).
var (
	statementMembersV1 = []string{"file", "format", "head", "reason", "seq", "stream", "time"}
	statementMembersV2 = []string{"file", "format", "genesis", "head", "reason", "retention_days", "seq", "stream", "time"}
)

const (
	formatV1 = "gxp-otel-audit/1"
	formatV2 = "gxp-otel-audit/2"
)

// heldLine is one valid line of a held file.
type heldLine struct {
	source  string // the file as reported: the directory's name for the own file, else the path as given
	number  int
	body    auditformat.Value
	stream  string
	genesis string // "" for a version 1 statement
	seq     int64
	head    string
}

// heldFile is the valid lines of one --checkpoints file, read once for every stream.
type heldFile struct {
	source string
	lines  []heldLine
}

// readUserHeld reads a --checkpoints file; its invalid lines, and the file itself when unreadable, are problems.
//
// Its problems belong to the stream its file name names (audit-<stream>.checkpoints.jsonl), else to no stream.
func readUserHeld(path string) (heldFile, []Problem) {
	out := heldFile{source: path}
	var problems []Problem
	stream, _ := auditformat.ParseCheckpointFileName(filepath.Base(path))
	f, err := openUserFile(path)
	if err != nil {
		return out, []Problem{{File: path, Kind: "bad-checkpoint-file", Detail: err.Error(), Stream: stream}}
	}
	defer f.Close()
	number, err := eachLine(f, false, func(number int, raw []byte, problem *readProblem) {
		if problem != nil {
			problems = append(problems, Problem{File: path, Line: intPtr(number), Kind: "bad-checkpoint-file", Detail: problem.Detail, Stream: stream})
			return
		}
		line, ok := parseHeldLine(raw)
		if !ok {
			problems = append(problems, Problem{File: path, Line: intPtr(number), Kind: "bad-checkpoint-file", Detail: "not a canonical checkpoint line", Stream: stream})
			return
		}
		line.source, line.number = path, number
		out.lines = append(out.lines, line)
	})
	if err != nil {
		problems = append(problems, Problem{File: path, Line: intPtr(number + 1), Kind: "bad-checkpoint-file", Detail: "could not be read to its end: " + err.Error(), Stream: stream})
	}
	return out, problems
}

// readOwnHeld reads the stream's own checkpoint file (a name in the trail directory: no link followed); absent is
// nothing, not a regular file is bad-checkpoint-file, a line naming another stream is bad-checkpoint-file with its
// seq.
func (v *streamVerifier) readOwnHeld() []heldLine {
	name := auditformat.CheckpointFileName(v.summary.Stream)
	f, err := v.dir.open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		v.report(name, nil, nil, "bad-checkpoint-file", err.Error())
		return nil
	}
	defer f.Close()
	var out []heldLine
	number, err := eachLine(f, false, func(number int, raw []byte, problem *readProblem) {
		if problem != nil {
			v.report(name, intPtr(number), nil, "bad-checkpoint-file", problem.Detail)
			return
		}
		line, ok := parseHeldLine(raw)
		if !ok {
			v.report(name, intPtr(number), nil, "bad-checkpoint-file", "not a canonical checkpoint line")
			return
		}
		if line.stream != v.summary.Stream {
			v.report(name, intPtr(number), seqPtr(line.seq), "bad-checkpoint-file", "a line of stream "+strconv.Quote(line.stream)+" in this stream's checkpoint file")
			return
		}
		line.source, line.number = name, number
		out = append(out, line)
	})
	if err != nil {
		v.report(name, intPtr(number+1), nil, "bad-checkpoint-file", "could not be read to its end: "+err.Error())
	}
	return out
}

// parseHeldLine accepts the canonical JSON of a checkpoint body with a version 1 or 2 statement whose seq is at
// most int64.
func parseHeldLine(raw []byte) (heldLine, bool) {
	if len(raw) == 0 || raw[len(raw)-1] != '\n' {
		return heldLine{}, false
	}
	body, err := auditformat.ParseJSON(raw[:len(raw)-1])
	if err != nil || body.Kind != auditformat.Object || body.HasNumber() {
		return heldLine{}, false
	}
	statement, _, _, ok := checkpointShape(&body, "")
	if !ok {
		return heldLine{}, false
	}
	canonical, err := auditformat.AppendCanonical(nil, &body)
	if err != nil || !bytes.Equal(canonical, raw[:len(raw)-1]) {
		return heldLine{}, false
	}
	seqText, _ := stringMember(statement, "seq")
	if !auditformat.SeqPattern.MatchString(seqText) {
		return heldLine{}, false
	}
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil {
		return heldLine{}, false
	}
	line := heldLine{body: body, seq: seq}
	statement, _ = line.body.Get("statement")
	line.stream, _ = stringMember(statement, "stream")
	line.genesis, _ = stringMember(statement, "genesis")
	line.head, _ = stringMember(statement, "head")
	return line, true
}

// checkpointShape returns the statement, key id and signature of a checkpoint body {statement, key_id, signature}
// whose statement has the members of its format (version "" accepts either version, else only that one).
func checkpointShape(body *auditformat.Value, version string) (*auditformat.Value, string, string, bool) {
	statement, ok := body.Get("statement")
	keyID, ok1 := stringMember(body, "key_id")
	signature, ok2 := stringMember(body, "signature")
	if !ok || !ok1 || !ok2 || len(body.Members) != 3 || statement.Kind != auditformat.Object {
		return nil, "", "", false
	}
	format, _ := stringMember(statement, "format")
	members := statementMembersV1
	switch {
	case format == formatV2 && version != formatV1:
		members = statementMembersV2
	case format == formatV1 && version != formatV2:
	default:
		return nil, "", "", false
	}
	if len(statement.Members) != len(members) {
		return nil, "", "", false
	}
	for _, name := range members {
		if _, ok := stringMember(statement, name); !ok {
			return nil, "", "", false
		}
	}
	if !statementForms(statement, format) {
		return nil, "", "", false
	}
	return statement, keyID, signature, true
}

var checkpointReasons = map[string]bool{auditformat.ReasonInterval: true, auditformat.ReasonRotation: true,
	auditformat.ReasonClose: true, auditformat.ReasonRecovery: true}

// statementForms checks the forms of a statement's members (§4, §7): seq at most int64, head (and genesis) 64
// lowercase hex digits, a recorded time on the calendar, a known reason, a stream id, retention_days decimal.
func statementForms(statement *auditformat.Value, format string) bool {
	get := func(name string) string { s, _ := stringMember(statement, name); return s }
	seq, err := strconv.ParseUint(get("seq"), 10, 64)
	if !auditformat.SeqPattern.MatchString(get("seq")) || err != nil || seq > auditformat.MaxSeq {
		return false
	}
	if !auditformat.Hex64Pattern.MatchString(get("head")) || !auditformat.ValidTime(get("time")) ||
		!checkpointReasons[get("reason")] || !auditformat.ValidStream(get("stream")) {
		return false
	}
	return format != formatV2 || (auditformat.Hex64Pattern.MatchString(get("genesis")) &&
		auditformat.SeqPattern.MatchString(get("retention_days")))
}

// held is the held checkpoints of one stream identity, in reading order.
type held struct {
	lines     []heldLine
	reference map[int64]int // index in lines of the first line per seq
}

func newHeld() *held { return &held{reference: map[int64]int{}} }

// ref is the reference line for seq, nil when no held line names it.
func (h *held) ref(seq int64) *heldLine {
	if i, ok := h.reference[seq]; ok {
		return &h.lines[i]
	}
	return nil
}

// add keeps a line; a later line for a seq whose head differs from the reference is held-conflict.
func (h *held) add(line heldLine, v *streamVerifier) {
	ref := h.ref(line.seq)
	h.lines = append(h.lines, line)
	if ref == nil {
		h.reference[line.seq] = len(h.lines) - 1
		return
	}
	if ref.head != line.head {
		v.report(line.source, intPtr(line.number), seqPtr(line.seq), "held-conflict",
			ref.source+" line "+strconv.Itoa(ref.number)+" seals another head for this seq")
	}
}

func readHeldSources(paths []string) ([]heldFile, []Problem) {
	var files []heldFile
	var problems []Problem
	for _, path := range paths {
		f, p := readUserHeld(path)
		files = append(files, f)
		problems = append(problems, p...)
	}
	return files, problems
}
