package auditverify

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crypto/ed25519"
)

const negativeDir = "../../../tests/vectors/negative"

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
	OK      bool `json:"ok"`
	Options struct {
		TrustedKeys     []string `json:"trusted_keys"`
		CheckpointFiles []string `json:"checkpoint_files"`
	} `json:"options"`
	Problems []expectedProblem `json:"problems"`
}

func TestNegativeVectorsReportExactlyTheExpectedProblems(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(negativeDir, "*", "expected.json"))
	if len(dirs) == 0 {
		t.Fatalf("no negative vectors under %s", negativeDir)
	}
	for _, expectedPath := range dirs {
		dir := filepath.Dir(expectedPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(expectedPath)
			if err != nil {
				t.Fatal(err)
			}
			var want negativeVector
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			var opts Options
			for _, k := range want.Options.TrustedKeys {
				pub, err := hex.DecodeString(k)
				if err != nil {
					t.Fatal(err)
				}
				opts.TrustedKeys = append(opts.TrustedKeys, ed25519.PublicKey(pub))
			}
			for _, f := range want.Options.CheckpointFiles {
				opts.CheckpointFiles = append(opts.CheckpointFiles, filepath.Join(dir, f))
			}
			report, err := Verify(filepath.Join(dir, "trail"), opts)
			if err != nil {
				t.Fatal(err)
			}
			var got, expected []string
			for _, p := range report.Problems {
				got = append(got, expectedProblem{p.File, p.Line, p.Seq, p.Kind}.String())
			}
			for _, p := range want.Problems {
				expected = append(expected, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(expected, "\n") || report.OK != want.OK {
				t.Fatalf("ok=%v problems:\n%s\nwant ok=%v:\n%s\ndetails: %+v", report.OK, strings.Join(got, "\n"),
					want.OK, strings.Join(expected, "\n"), report.Problems)
			}
		})
	}
}
