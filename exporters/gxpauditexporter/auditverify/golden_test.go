package auditverify

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The golden vectors' outputs, version 2 and version 1 (kept unchanged from before version 2), verify: self-keyed,
// and anchored under the key of signing_key_seed when they were signed (regulated trails live for years).
func TestGoldenOutputsOfBothVersionsVerify(t *testing.T) {
	paths, _ := filepath.Glob("../../../tests/vectors/golden*/*.json")
	if len(paths) < 16 {
		t.Fatalf("golden vectors missing: %v", paths)
	}
	for _, path := range paths {
		t.Run(filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var v struct {
				Writer   map[string]string `json:"writer"`
				Expected struct {
					Files map[string]string `json:"files"`
				} `json:"expected"`
			}
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			for name, text := range v.Expected.Files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			report, err := Verify(dir, Options{})
			if err != nil || report.Verdict != VerifiedSelfKeyed {
				t.Fatalf("self-keyed: %v %s %+v", err, report.Verdict, report.Problems)
			}
			if seed := v.Writer["signing_key_seed"]; seed != "" {
				raw, _ := hex.DecodeString(seed)
				key := ed25519.NewKeyFromSeed(raw).Public().(ed25519.PublicKey)
				report, err := Verify(dir, Options{TrustedKeys: []ed25519.PublicKey{key}})
				if err != nil || report.Verdict != Verified {
					t.Fatalf("anchored: %v %s %+v", err, report.Verdict, report.Problems)
				}
			}
		})
	}
}
