package audittrail_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/internal/vectorplay"
)

// vectorDir holds the language-neutral test vectors (tests/vectors/README.md).
const vectorDir = "../../../tests/vectors"

func TestGoldenVectorsGiveByteIdenticalFiles(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(vectorDir, "golden", "*.json"))
	if len(paths) == 0 {
		t.Fatalf("no golden vectors under %s", vectorDir)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var v vectorplay.Vector
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := vectorplay.Play(&v, dir); err != nil {
				t.Fatal(err)
			}
			got, err := vectorplay.Files(dir)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range v.Expected.Files {
				if got[name] != want {
					t.Errorf("%s differs:\n%s", name, firstDifference(got[name], want))
				}
			}
			for name := range got {
				if _, ok := v.Expected.Files[name]; !ok {
					t.Errorf("unexpected file %s", name)
				}
			}
		})
	}
}

// firstDifference shows the first differing line of two file texts.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got  " + gl + "\n want " + wl
		}
	}
	return "(same lines)"
}
