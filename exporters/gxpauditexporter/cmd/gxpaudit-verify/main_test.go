package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const negative = "../../../../tests/vectors/negative"

func TestExitStatusSaysWhetherTheTrailVerified(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{filepath.Join(negative, "intact", "trail")}, &out, &errOut); code != 0 {
		t.Fatalf("intact trail: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "VERIFIED-SELF-KEYED: 19 records in 4 files, 0 problem(s)") ||
		!strings.Contains(out.String(), "cannot detect a trail or stream rewritten") {
		t.Fatalf("unexpected output:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"--json", filepath.Join(negative, "truncated-tail", "trail")}, &out, &errOut); code != 1 {
		t.Fatalf("truncated trail: exit %d", code)
	}
	var report struct {
		OK       bool `json:"ok"`
		Problems []struct {
			Kind string `json:"kind"`
		} `json:"problems"`
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil || report.OK || len(report.Problems) != 1 || report.Problems[0].Kind != "truncated" {
		t.Fatalf("report %+v (%v)", report, err)
	}
}

func TestNothingToVerifyIsNeverVerified(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{t.TempDir()}, &out, &errOut); code != 4 || !strings.Contains(out.String(), "NO RECORDS") {
		t.Fatalf("empty directory: exit %d\n%s", code, out.String())
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{{}, {"--trusted-key", "zz", negative}, {"/no/such/trail"}} {
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestSignaturesAreShownWithPrintedNameTimeAndMeaning(t *testing.T) {
	dir := t.TempDir()
	registry := filepath.Join(dir, "alice.signer.json")
	entry := `{"printed_name": "Alice Example", "user_id": "alice", "key_id": "ed25519:39f713d0a644253f", ` +
		`"public_key": "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"}`
	if err := os.WriteFile(registry, []byte(entry), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	args := []string{"--trusted-key", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
		"--signer", registry, "--purger", registry, "../../../../tests/vectors/part11/signed-and-corrected-intact/trail"}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "signature app.0 seq ") || !strings.Contains(out.String(), "Alice Example (alice)") ||
		!strings.Contains(out.String(), "meaning ") || !strings.Contains(out.String(), "VERIFIED: ") {
		t.Fatalf("the signature's manifestation is not shown:\n%s", out.String())
	}
}

// An ANSI escape or a bidi override from the trail (a printed name, a reason) must not reach the terminal raw.
func TestTrailTextIsShownWithControlAndBidiCharactersEscaped(t *testing.T) {
	for _, hostile := range []string{"\x1b[2K\x1b[1AVERIFIED", "alice\u202e", "a\u0085b", "x\u2066y", "\x7f"} {
		got := shown(hostile)
		if strings.ContainsAny(got, "\x1b\u202e\u0085\u2066\x7f") {
			t.Fatalf("shown(%q) = %q", hostile, got)
		}
	}
	if shown("Alice Example (älice)") != "Alice Example (älice)" {
		t.Fatal("ordinary text was changed")
	}
}
