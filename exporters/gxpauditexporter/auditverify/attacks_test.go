package auditverify

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Each false "intact" verdict reproduced in issue 11 is a vector of tests/vectors (written by the spec's authors,
// played by both verifiers); here each attack is named and must not verify, with the kind of problem that says why.
func TestEveryReproducedAttackOfIssue11IsNotVerified(t *testing.T) {
	attacks := []struct{ name, vector, kind string }{
		{"1: a new stream forged with no key next to a signed one", "negative/forged-unsigned-stream", "unknown-stream"},
		{"1: the same on a version 1 trail", "negative/v1-forged-unsigned-stream", "unknown-stream"},
		{"2: a record appended after the signed close checkpoint", "negative/record-after-close", "after-close"},
		{"2: the same on a version 1 trail", "negative/v1-record-after-close", "after-close"},
		{"2: a stream reopened after close under another key", "negative/reopened-under-another-key", "key-change"},
		{"3: a whole stream deleted, its WORM copy given", "negative/deleted-stream", "missing-stream"},
		{"3: the same on a version 1 trail", "negative/v1-deleted-stream", "missing-stream"},
		{"4: the WORM copy shadowed by a rewritten local checkpoint file", "negative/worm-copy-shadowed-by-local-file", "rewritten"},
		{"4: the same on a version 1 trail", "negative/v1-worm-copy-shadowed-by-local-file", "rewritten"},
		{"5: a purge tombstone signed by a fresh key", "part11/tombstone-self-signed", "untrusted-key"},
		{"5: a middle file tombstoned away", "part11/tombstone-of-a-middle-file", "bad-purge"},
		{"5: a tombstone whose embedded checkpoint is forged", "part11/tombstone-embedded-checkpoint-forged", "bad-purge"},
		{"6: the reviewer's key re-signing checkpoints", "negative/reviewer-key-resigns-checkpoints", "untrusted-key"},
		{"6: a writer key given for an e-signature", "part11/signer-key-given-only-as-writer-key@seq-4", "untrusted-key"},
		{"held copies of another trail mixed in", "negative/held-copy-of-another-trail", "missing-stream"},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			dir, err := filepath.Abs(filepath.Join("../../../tests/vectors", a.vector))
			if err != nil {
				t.Fatal(err)
			}
			report := playVector(t, dir)
			if report.ExitCode() == 0 || report.Verdict == Verified || report.Verdict == VerifiedSelfKeyed {
				t.Fatalf("%s: verdict %s, exit %d", a.vector, report.Verdict, report.ExitCode())
			}
			for _, p := range report.Problems {
				if p.Kind == a.kind {
					return
				}
			}
			t.Fatalf("%s: no %s problem in %+v", a.vector, a.kind, report.Problems)
		})
	}
}

func TestAnEmptyDirectoryIsNoRecordsWithExitFour(t *testing.T) {
	for _, opts := range []Options{{}, {TrustedKeys: []ed25519.PublicKey{make([]byte, ed25519.PublicKeySize)}}} {
		report, err := Verify(t.TempDir(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if report.Verdict != NoRecords || report.ExitCode() != 4 {
			t.Fatalf("empty directory: %s, exit %d", report.Verdict, report.ExitCode())
		}
	}
}

func TestALiveStreamBetweenCheckpointsIsUnsealedTailWithExitThree(t *testing.T) {
	dir, err := filepath.Abs("../../../tests/vectors/negative/unsealed-tail")
	if err != nil {
		t.Fatal(err)
	}
	if report := playVector(t, dir); report.Verdict != UnsealedTail || report.ExitCode() != 3 {
		t.Fatalf("verdict %s, exit %d: %+v", report.Verdict, report.ExitCode(), report.Problems)
	}
}

// playVector verifies a vector's trail with its options, from the vector's directory.
func playVector(t *testing.T, dir string) *Report {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want negativeVector
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	opts := Options{CheckpointFiles: want.Options.CheckpointFiles, Signers: want.Options.Signers, Purgers: want.Options.Purgers}
	for _, k := range want.Options.TrustedKeys {
		pub, err := hex.DecodeString(k)
		if err != nil {
			t.Fatal(err)
		}
		opts.TrustedKeys = append(opts.TrustedKeys, ed25519.PublicKey(pub))
	}
	t.Chdir(dir)
	report, err := Verify("trail", opts)
	if err != nil {
		t.Fatal(err)
	}
	return report
}

// With file 000001 purged, the stream's identity is the genesis the tombstone's writer-signed checkpoint names: a
// held line of another genesis is another trail's stream (missing-stream), as in the Python verifier (found by the
// cross-language tampering fuzz).
func TestAfterAPurgeOfTheGenesisFileHeldLinesOfAnotherTrailAreAnotherStream(t *testing.T) {
	src, err := filepath.Abs("../../../tests/vectors/part11/purged-by-policy-intact")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, "trail", "audit-app.0.checkpoints.jsonl")
	data, err := os.ReadFile(own)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	last := len(lines) - 2 // the final line (SplitAfter leaves "" after the last newline)
	lines[last] = regexp.MustCompile(`"genesis":"[0-9a-f]{64}"`).ReplaceAllString(lines[last], `"genesis":"`+strings.Repeat("f", 64)+`"`)
	if err := os.WriteFile(own, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	report := playVector(t, dir)
	want := fmt.Sprintf("audit-app.0.checkpoints.jsonl:%d seq=null missing-stream", last+1)
	for _, p := range report.Problems {
		if (expectedProblem{p.File, p.Line, p.Seq, p.Kind}).String() == want {
			return
		}
	}
	t.Fatalf("want %s, got %+v", want, report.Problems)
}

// A bad line of a --checkpoints file named audit-<stream>.checkpoints.jsonl belongs to that stream: it sorts with
// the stream's problems, after its chain files (§10.8), as in the Python verifier (found by the tampering fuzz).
func TestABadLineOfAHeldCopySortsWithTheStreamItsFileNames(t *testing.T) {
	src, err := filepath.Abs("../../../tests/vectors/negative/rolled-back-directory")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	held := filepath.Join(dir, "held", "audit-vec.0.checkpoints.jsonl")
	data, err := os.ReadFile(held)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(held, []byte(strings.Replace(string(data), `"reason":"`, `"reason":"x`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	report := playVector(t, dir)
	last := report.Problems[len(report.Problems)-1]
	if len(report.Problems) < 2 || last.File != "held/audit-vec.0.checkpoints.jsonl" || last.Kind != "bad-checkpoint-file" || last.Stream != "vec.0" {
		t.Fatalf("the held copy's bad line is not the stream's last problem: %+v", report.Problems)
	}
}
