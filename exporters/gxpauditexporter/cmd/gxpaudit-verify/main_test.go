package main

import (
	"bytes"
	"encoding/json"
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
