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

// Problem is one finding: where (file, 1-based line, seq; nil where unknown) and what (kind, §10).
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

// Report is the result of verifying a trail.
type Report struct {
	OK       bool            `json:"ok"`
	Path     string          `json:"path"`
	Records  int64           `json:"records"`
	Files    int             `json:"files"`
	Problems []Problem       `json:"problems"`
	Streams  []StreamSummary `json:"streams"`
}

// Options of a verification.
type Options struct {
	// TrustedKeys are raw Ed25519 public keys; checkpoints signed by any other key, or unsigned, are
	// untrusted-key. Without them, keys are taken from the trail itself (and the report says so).
	TrustedKeys []ed25519.PublicKey
	// CheckpointFiles are checkpoint files held outside the trail (detects a rollback of the whole directory).
	CheckpointFiles []string
}

// Verify checks every stream of the trail directory at path (or, given one chain file, that file's stream).
func Verify(path string, opts Options) (*Report, error) {
	report := &Report{Path: path, Problems: []Problem{}, Streams: []StreamSummary{}}
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
				chains[stream] = nil // a stream with checkpoints but no chain file: reported as missing-file
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
	fileOrder := map[string]int{}
	for _, stream := range streams {
		files := dedupe(chains[stream])
		for i, cf := range files {
			fileOrder[cf.Name()] = i
		}
		v := &streamVerifier{dir: dir, files: files, trusted: trusted, held: map[int64]*held{}, keys: map[string]ed25519.PublicKey{}}
		v.summary = StreamSummary{Stream: stream, Files: []string{}, KeyIDs: []string{}, Notes: []string{}}
		v.keyInForce = auditformat.UnsignedKeyID
		v.run(opts.CheckpointFiles)
		report.Problems = append(report.Problems, v.problems...)
		report.Streams = append(report.Streams, v.summary)
		report.Records += v.summary.Records
		report.Files += len(files)
	}
	sortProblems(report.Problems, fileOrder)
	report.OK = len(report.Problems) == 0
	return report, nil
}

// sortProblems orders problems as §10 says: stream, position of the file among the present chain files (others
// after them, by name), line (null first), kind; ties keep the order of discovery.
func sortProblems(problems []Problem, fileOrder map[string]int) {
	position := func(p Problem) int {
		if n, ok := fileOrder[p.File]; ok {
			return n
		}
		return 1 << 30
	}
	line := func(p Problem) int {
		if p.Line == nil {
			return 0
		}
		return *p.Line
	}
	sort.SliceStable(problems, func(i, j int) bool {
		a, b := problems[i], problems[j]
		switch {
		case a.Stream != b.Stream:
			return a.Stream < b.Stream
		case position(a) != position(b):
			return position(a) < position(b)
		case a.File != b.File:
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
