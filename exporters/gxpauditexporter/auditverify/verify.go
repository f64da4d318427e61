// Package auditverify verifies a gxp-otel audit trail directory by the normative algorithm of
// docs/audit-format.md §10. It imports only the format package, never the writer, and trusts nothing it reads:
// keys come from the trusted keys given, else from the trail's own genesis and recovery records.
package auditverify

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// Problem is one finding: where (file, 1-based line, seq; nil where unknown) and what (kind, §13).
type Problem struct {
	File   string `json:"file"`
	Line   *int   `json:"line"`
	Seq    *int64 `json:"seq"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
	Stream string `json:"stream"`
}

// StreamSummary says what was read of one stream.
type StreamSummary struct {
	Stream            string   `json:"stream"`
	Files             []string `json:"files"`
	Records           int64    `json:"records"`
	LastSeq           *int64   `json:"last_seq"`
	Head              string   `json:"head"`
	Checkpoints       int64    `json:"checkpoints"`
	SignedCheckpoints int64    `json:"signed_checkpoints"`
	KeyIDs            []string `json:"key_ids"`
	KeySource         string   `json:"key_source"`
	Closed            bool     `json:"closed"`
	Sessions          int64    `json:"sessions"`
	Notes             []string `json:"notes"`
}

// Verdicts (§13).
const (
	Verified          = "VERIFIED"
	VerifiedSelfKeyed = "VERIFIED-SELF-KEYED"
	UnsealedTail      = "UNSEALED-TAIL"
	NotVerified       = "NOT VERIFIED"
	NoRecords         = "NO RECORDS"
)

// SelfKeyedWarning is the sentence every output of a self-keyed verdict carries (§1.1).
const SelfKeyedWarning = "self-keyed: no writer trust anchor was given, so the trail's own keys were used; this " +
	"cannot detect a trail or stream rewritten and re-signed with another key, a forged stream, or records appended " +
	"by anyone who can write the directory and make their own key"

// Report is the result of verifying a trail.
type Report struct {
	OK       bool            `json:"ok"` // the verdict is VERIFIED or VERIFIED-SELF-KEYED
	Verdict  string          `json:"verdict"`
	Anchored bool            `json:"anchored"`
	Path     string          `json:"path"`
	Records  int64           `json:"records"`
	Files    int             `json:"files"`
	Problems []Problem       `json:"problems"`
	Streams  []StreamSummary `json:"streams"`
	Notes    []string        `json:"notes"`
	// Part11 lists the electronic signatures and corrections read (§12), as every rendering must show them.
	Part11 []Manifestation `json:"part11"`
}

// ExitCode is the verdict's exit status (§13): 0 verified (anchored or self-keyed), 1 not verified, 3 unsealed
// tail, 4 no records.
func (r *Report) ExitCode() int {
	switch r.Verdict {
	case Verified, VerifiedSelfKeyed:
		return 0
	case UnsealedTail:
		return 3
	case NoRecords:
		return 4
	}
	return 1
}

// Options of a verification: the trust anchors by role (§1.1) and the auditor's held checkpoint copies.
type Options struct {
	// TrustedKeys are the writer trust anchors (raw Ed25519 public keys): with any, verification is anchored.
	TrustedKeys []ed25519.PublicKey
	// CheckpointFiles are checkpoint files held outside the trail, reported by the path exactly as given.
	CheckpointFiles []string
	// Signers is the signer registry (§12.1), Purgers the purger registry (§12.3).
	Signers, Purgers []RegistryEntry
}

// Verify checks every stream of the trail directory at path (or, given one chain file, that file's stream).
func Verify(path string, opts Options) (*Report, error) {
	report := &Report{Path: path, Problems: []Problem{}, Streams: []StreamSummary{}, Notes: []string{},
		Anchored: len(opts.TrustedKeys) > 0}
	root, onlyStream := path, ""
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		cf, ok := auditformat.ParseChainFileName(filepath.Base(path))
		if !ok {
			return nil, fmt.Errorf("%s is neither a trail directory nor a chain file", path)
		}
		root, onlyStream = filepath.Dir(path), cf.Stream
	}
	dir, err := openTrailDir(root)
	if err != nil {
		return nil, err
	}
	defer dir.close()
	names, err := dir.names()
	if err != nil {
		return nil, err
	}
	trusted := map[string]ed25519.PublicKey{}
	for _, k := range opts.TrustedKeys {
		trusted[auditformat.KeyID(k)] = k
	}
	chains := map[string][]auditformat.ChainFile{}
	for _, name := range names {
		if cf, ok := auditformat.ParseChainFileName(name); ok {
			chains[cf.Stream] = append(chains[cf.Stream], cf)
		} else if stream, ok := auditformat.ParseCheckpointFileName(name); ok {
			if _, seen := chains[stream]; !seen {
				chains[stream] = nil
			}
		}
	}
	heldFiles, problems := readHeldSources(opts.CheckpointFiles)
	report.Problems = append(report.Problems, problems...)
	userHeld := map[string][]heldLine{} // per stream id, in reading order: linear in the streams and lines
	for _, hf := range heldFiles {
		for _, line := range hf.lines {
			userHeld[line.stream] = append(userHeld[line.stream], line)
			if _, seen := chains[line.stream]; !seen {
				chains[line.stream] = nil
			}
		}
	}
	streams := make([]string, 0, len(chains))
	for s := range chains {
		if onlyStream == "" || s == onlyStream {
			streams = append(streams, s)
		}
	}
	sort.Strings(streams)
	order := problemOrder{files: map[string]int{}, held: map[string]int{}}
	for i, p := range opts.CheckpointFiles {
		if _, seen := order.held[p]; !seen {
			order.held[p] = i
		}
	}
	p11 := newPart11(dir, opts, trusted, dedupe(chains[retentionStream]))
	for _, stream := range streams {
		files := dedupe(chains[stream])
		for i, cf := range files {
			order.files[cf.Name()] = i
		}
		v := &streamVerifier{dir: dir, files: files, trusted: trusted, keys: map[string]ed25519.PublicKey{}, part11: p11}
		v.summary = StreamSummary{Stream: stream, Files: []string{}, KeyIDs: []string{}, Notes: []string{}}
		v.collectHeld(userHeld[stream])
		if len(files) > 0 {
			v.run()
		}
		if len(opts.CheckpointFiles) > 0 && len(files) > 0 && len(userHeld[stream]) == 0 {
			v.summary.Notes = append(v.summary.Notes, "not in the held checkpoint files: newer than the copy?")
		}
		if onlyStream != "" { // §10.1: the verdict is about this stream only
			v.summary.Notes = append(v.summary.Notes, "only this stream was verified (a chain file was given, not the trail directory): other streams, and held lines naming them, were not checked")
		}
		report.Problems = append(report.Problems, v.problems...)
		report.Streams = append(report.Streams, v.summary)
		report.Records += v.summary.Records
		report.Files += len(v.summary.Files)
	}
	report.Problems = append(report.Problems, p11.finish(chains)...)
	report.Part11 = append([]Manifestation{}, p11.manifestations...)
	if len(report.Part11) > 0 && len(opts.Signers) == 0 {
		report.Notes = append(report.Notes, "signer identities are the trail's own claims: no signer registry (--signer) was given")
	}
	order.sort(report.Problems)
	report.Verdict = verdict(report)
	report.OK = report.ExitCode() == 0
	if !report.Anchored {
		report.Notes = append(report.Notes, SelfKeyedWarning)
	}
	return report, nil
}

// verdict computes the §13 verdict from the problems, the records read and the trust anchors.
func verdict(r *Report) string {
	if len(r.Problems) == 0 {
		switch {
		case r.Records == 0:
			return NoRecords
		case r.Anchored:
			return Verified
		}
		return VerifiedSelfKeyed
	}
	for _, p := range r.Problems {
		if p.Kind != "unsealed-tail" {
			return NotVerified
		}
	}
	if r.Anchored && r.Records > 0 {
		return UnsealedTail
	}
	return NotVerified
}

// collectHeld gathers the held lines of this stream's identity: --checkpoints lines first (userHeld: this stream
// id's lines of the --checkpoints files, in the order given), then
// the stream's own file (§10.5). A version 2 line naming another genesis than the directory's stream belongs to
// another identity with the same stream id, which has no chain file here; so does every line of a stream without
// chain files, even if tombstones cover its first files (a tombstone never covers a stream's newest file, so no
// purge explains a stream without any). Each such identity is missing-stream once (§10.7); a checkpoint file
// without a valid line and no chain file, once at that file with line null.
func (v *streamVerifier) collectHeld(userHeld []heldLine) {
	v.held = newHeld()
	if len(v.files) > 0 {
		v.genesis = v.peekGenesis()
	}
	if v.genesis == "" { // file 000001 purged: the tombstone's embedded, writer-signed checkpoint names the identity
		v.genesis = v.part11.purgedGenesis(v.summary.Stream)
	}
	hasChain := false // a chain file that can be read: a link, FIFO or device in its place is none (§2.1)
	for _, cf := range v.files {
		hasChain = hasChain || v.dir.regular(cf.Name())
	}
	// present (as the Python verifier's): a readable chain file, or a chain that continues from tombstones covering
	// file 000001 up to a chain file name that is here; with no chain file name at all nothing continues
	present := hasChain || (len(v.files) > 0 && v.part11.covers(v.summary.Stream, auditformat.ChainFileName(v.summary.Stream, 1)))
	foreign := map[string]bool{}
	take := func(line heldLine) {
		if present && (line.genesis == "" || v.genesis == "" || line.genesis == v.genesis) {
			v.held.add(line, v)
			return
		}
		if !foreign[line.genesis] {
			foreign[line.genesis] = true
			v.report(line.source, intPtr(line.number), nil, "missing-stream", "a stream named in a held checkpoint file has no chain file here")
		}
	}
	for _, line := range userHeld {
		take(line)
	}
	for _, line := range v.readOwnHeld() {
		take(line)
	}
	if !present && len(foreign) == 0 { // a checkpoint file without one valid line, and no chain file (§10.7)
		v.report(auditformat.CheckpointFileName(v.summary.Stream), nil, nil, "missing-stream", "a checkpoint file exists but no chain file")
	}
}

// peekGenesis is the hash of the stream's genesis record, read from line 1 of file 000001; "" when that line is
// not a valid genesis record (the chain check reports why).
func (v *streamVerifier) peekGenesis() string {
	first := v.files[0]
	if first.Index != 1 {
		return ""
	}
	f, err := v.dir.open(first.Name())
	if err != nil {
		return ""
	}
	defer f.Close()
	raw, ok := auditformat.FirstLine(f, first.Compressed)
	if !ok {
		return ""
	}
	rec, problem, _ := auditformat.CheckLine(raw)
	if problem != "" || rec.Kind != auditformat.KindGenesis || rec.Seq != 0 || rec.Stream != v.summary.Stream {
		return ""
	}
	return rec.Hash
}

// problemOrder sorts problems as §10.8 says: stream; the position of the file among the stream's present chain
// files; then files not present and the directory's checkpoint files, by name; then --checkpoints files in the
// order given; then line (null first), then kind; ties keep the order of discovery.
type problemOrder struct {
	files map[string]int
	held  map[string]int
}

func (o problemOrder) sort(problems []Problem) {
	rank := func(p Problem) (int, int) {
		if n, ok := o.files[p.File]; ok {
			return 0, n
		}
		if n, ok := o.held[p.File]; ok {
			return 2, n
		}
		return 1, 0
	}
	line := func(p Problem) int {
		if p.Line == nil {
			return 0
		}
		return *p.Line
	}
	sort.SliceStable(problems, func(i, j int) bool {
		a, b := problems[i], problems[j]
		ga, na := rank(a)
		gb, nb := rank(b)
		switch {
		case a.Stream != b.Stream:
			return a.Stream < b.Stream
		case ga != gb:
			return ga < gb
		case na != nb:
			return na < nb
		case ga == 1 && a.File != b.File:
			return a.File < b.File
		case line(a) != line(b):
			return line(a) < line(b)
		}
		return a.Kind < b.Kind
	})
}

// dedupe keeps one file per number; when both plain and .gz exist (a crash while compressing) the plain one wins.
func dedupe(files []auditformat.ChainFile) []auditformat.ChainFile {
	byIndex := map[int]auditformat.ChainFile{}
	for _, cf := range files {
		if prev, ok := byIndex[cf.Index]; !ok || (prev.Compressed && !cf.Compressed) {
			byIndex[cf.Index] = cf
		}
	}
	out := make([]auditformat.ChainFile, 0, len(byIndex))
	for _, cf := range byIndex {
		out = append(out, cf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

func intPtr(n int) *int { return &n }

func seqPtr(n int64) *int64 { return &n }

func verifySignature(pub ed25519.PublicKey, statement *auditformat.Value, sigHex string) bool {
	canonical, err := auditformat.AppendCanonical(nil, statement)
	if err != nil {
		return false
	}
	return auditformat.VerifyCheckpoint(pub, canonical, sigHex)
}

func decodePublic(s string) (ed25519.PublicKey, bool) {
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, false
	}
	return ed25519.PublicKey(raw), true
}
