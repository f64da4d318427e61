package auditverify

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The negative vectors of tests/vectors: the shared set and the §12 set.
var negativeDirs = []string{"../../../tests/vectors/negative", "../../../tests/vectors/part11"}

type expectedProblem struct {
	File string `json:"file"`
	Line *int   `json:"line"`
	Seq  *int64 `json:"seq"`
	Kind string `json:"kind"`
}

func (p expectedProblem) String() string {
	show := func(v any) string {
		switch x := v.(type) {
		case *int:
			if x != nil {
				return fmt.Sprint(*x)
			}
		case *int64:
			if x != nil {
				return fmt.Sprint(*x)
			}
		}
		return "null"
	}
	return fmt.Sprintf("%s:%s seq=%s %s", p.File, show(p.Line), show(p.Seq), p.Kind)
}

type negativeVector struct {
	OK      bool   `json:"ok"`
	Verdict string `json:"verdict"`
	Options struct {
		TrustedKeys     []string        `json:"trusted_keys"`
		CheckpointFiles []string        `json:"checkpoint_files"`
		Signers         []RegistryEntry `json:"signers"`
		Purgers         []RegistryEntry `json:"purgers"`
	} `json:"options"`
	Problems []expectedProblem `json:"problems"`
}

func TestNegativeVectorsReportExactlyTheExpectedProblems(t *testing.T) {
	var dirs []string
	for _, d := range negativeDirs {
		found, _ := filepath.Glob(filepath.Join(d, "*", "expected.json"))
		dirs = append(dirs, found...)
	}
	if len(dirs) == 0 {
		t.Fatalf("no negative vectors under %v", negativeDirs)
	}
	for _, expectedPath := range dirs {
		dir, err := filepath.Abs(filepath.Dir(expectedPath))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(filepath.Dir(dir))+"/"+filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want negativeVector
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			report := playVector(t, dir)
			var got, expected []string
			for _, p := range report.Problems {
				got = append(got, expectedProblem{p.File, p.Line, p.Seq, p.Kind}.String())
			}
			for _, p := range want.Problems {
				expected = append(expected, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(expected, "\n") || report.OK != want.OK ||
				(want.Verdict != "" && report.Verdict != want.Verdict) {
				t.Fatalf("ok=%v verdict=%s problems:\n%s\nwant ok=%v verdict=%s:\n%s\ndetails: %+v", report.OK,
					report.Verdict, strings.Join(got, "\n"), want.OK, want.Verdict, strings.Join(expected, "\n"), report.Problems)
			}
		})
	}
}
