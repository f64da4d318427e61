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
	if !strings.Contains(out.String(), "OK: the trail verified (19 records, 4 files)") {
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

func TestUsageErrorsExitTwo(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{{}, {"--trusted-key", "zz", negative}, {"/no/such/trail"}} {
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
