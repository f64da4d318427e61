package audittrail_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/audittrail"
	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditverify"
)

// The crash tests run the writer in a second process (this test binary, re-executed as TestCrashChild), stop it at
// a named step of a multi-step file operation and kill it there with SIGKILL; a restarted writer must then continue
// the stream so that it verifies with every acknowledged record in it.

const (
	crashDirEnv  = "GXPAUDIT_CRASH_DIR"
	crashStepEnv = "GXPAUDIT_CRASH_STEP"
)

func crashOptions(dir string) audittrail.Options {
	return audittrail.Options{Directory: dir, Stream: "crash.0", RotateBytes: audittrail.MinRotateBytes, Compress: true}
}

func numbered(i int) [][]byte {
	return [][]byte{[]byte(`{"n":{"intValue":"` + strconv.Itoa(i) + `"}}`)}
}

// TestCrashChild is the second process: it appends numbered records one per call, printing "ack N" after each
// returns, and stops forever at the step named in its environment, printing "at STEP".
func TestCrashChild(t *testing.T) {
	dir, step := os.Getenv(crashDirEnv), os.Getenv(crashStepEnv)
	if dir == "" {
		t.Skip("run by the crash tests only")
	}
	audittrail.SetCrashPoint(func(reached string) {
		if reached == step {
			fmt.Printf("at %s\n", reached)
			select {}
		}
	})
	w, err := audittrail.Open(crashOptions(dir))
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(3)
	}
	for i := 0; i < 60; i++ {
		if err := w.Append("span", numbered(i)); err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(3)
		}
		fmt.Printf("ack %d\n", i)
	}
	fmt.Println("done")
	select {}
}

// killAt runs the child until it reports reaching step, SIGKILLs it and returns the records it acknowledged.
func killAt(t *testing.T, dir, step string) []int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashStepEnv+"="+step)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	var acked []int
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		line := lines.Text()
		switch {
		case strings.HasPrefix(line, "ack "):
			n, _ := strconv.Atoi(strings.TrimPrefix(line, "ack "))
			acked = append(acked, n)
		case line == "at "+step:
			if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred cleanup runs in the child
				t.Fatal(err)
			}
			return acked
		case line == "done": // compression runs on in the background (a deflate process): give it 30 s more
			time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
		case strings.HasPrefix(line, "error "):
			t.Fatalf("the child never reached %s: %s", step, line)
		}
	}
	t.Fatalf("the child exited before reaching %s", step)
	return nil
}

func TestAWriterKilledAtEachStepOfRotationAndCompressionRestartsIntoAVerifiedChain(t *testing.T) {
	steps := []string{
		"rotation-records-written", "rotation-checkpoint-copied", "rotation-file-closed", "rotation-file-created",
		"compress-temp-written", "compress-renamed",
	}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			acked := killAt(t, dir, step)
			w, err := audittrail.Open(crashOptions(dir))
			if err != nil {
				t.Fatalf("restart after a kill at %s: %v", step, err)
			}
			for i := 1000; i < 1040; i++ { // enough to rotate again: a second rotation out of one file shows here
				if err := w.Append("span", numbered(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			requireAllVerified(t, dir, acked)
		})
	}
}

func TestAWriterKilledWhileRecoveringATornLineRestartsIntoAVerifiedChain(t *testing.T) {
	for _, step := range []string{"recovery-torn-quarantined", "recovery-torn-cut"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			w, err := audittrail.Open(crashOptions(dir))
			if err != nil {
				t.Fatal(err)
			}
			var acked []int
			for i := 0; i < 5; i++ {
				if err := w.Append("span", numbered(i)); err != nil {
					t.Fatal(err)
				}
				acked = append(acked, i)
			}
			current := w.CurrentFile()
			w.Abandon()
			f, err := os.OpenFile(current, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(`{"kind":"span","seq":"7`); err != nil { // a line torn by the crash
				t.Fatal(err)
			}
			f.Close()
			killAt(t, dir, step) // killed inside Open, before it acknowledged anything
			w, err = audittrail.Open(crashOptions(dir))
			if err != nil {
				t.Fatalf("restart after a kill at %s: %v", step, err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			requireAllVerified(t, dir, acked)
		})
	}
}

// requireAllVerified verifies the trail and checks that every acknowledged record is in it.
func requireAllVerified(t *testing.T, dir string, acked []int) {
	t.Helper()
	report, err := auditverify.Verify(dir, auditverify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !report.OK {
		t.Fatalf("the restarted trail does not verify: %+v", report.Problems)
	}
	requireAcked(t, dir, acked)
}

// allRecords reads every record of the crash stream's chain files, plain and compressed, without verifying them.
func allRecords(t *testing.T, dir string) []auditformat.Record {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if _, ok := auditformat.ParseChainFileName(e.Name()); ok {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var out []auditformat.Record
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			if len(line) > 0 && line[len(line)-1] == '\n' {
				if rec, problem, _ := auditformat.CheckLine(line[:len(line)-1]); problem == "" {
					out = append(out, rec)
				}
			}
		}
	}
	return out
}

// A writer restarted after a clean close whose file is full writes its recovery record into that file and rotates
// before its next record (§8: never before a recovery record), so the rotation checkpoint that closes the file is
// signed by the key the recovery record put in force: a restart under a new key verifies against both keys (it had
// been signed by the new key before the recovery record, and was bad-signature under the key then in force).
func TestARestartUnderANewKeyAfterCloseIntoAFullFileRecoversFirstAndVerifies(t *testing.T) {
	dir := t.TempDir()
	opts := crashOptions(dir)
	opts.Compress = false
	first, second := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)), ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	opts.SigningKey = first
	w, err := audittrail.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	var acked []int
	for i := 0; ; i++ {
		if err := w.Append("span", numbered(i)); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, i)
		if info, err := os.Stat(w.CurrentFile()); err != nil || info.Size() > audittrail.MinRotateBytes-600 {
			break
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	opts.SigningKey = second
	if w, err = audittrail.Open(opts); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit-crash.0-000002.jsonl")); err == nil {
		t.Fatal("the restart rotated before its recovery record")
	}
	for i, end := len(acked), len(acked)+3; i < end; i++ {
		if err := w.Append("span", numbered(i)); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, i)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit-crash.0-000002.jsonl")); err != nil {
		t.Fatalf("the record after the recovery record did not rotate: %v", err)
	}
	trusted := []ed25519.PublicKey{first.Public().(ed25519.PublicKey), second.Public().(ed25519.PublicKey)}
	report, err := auditverify.Verify(dir, auditverify.Options{TrustedKeys: trusted})
	if err != nil || report.Verdict != auditverify.Verified {
		t.Fatalf("the restart under a new key: %v %+v", err, report.Problems)
	}
	requireAcked(t, dir, acked) // self-keyed it is key-change (§6.2): only an anchor authorises a new key
}

// A writer continuing a version 1 stream keeps writing version 1 statements (§7: a stream keeps its genesis's
// version), so the continued trail still verifies.
func TestAVersion1StreamIsContinuedInVersion1(t *testing.T) {
	raw, err := os.ReadFile("../../../tests/vectors/golden-v1/signed-checkpoints.json")
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
	seed, _ := hex.DecodeString(v.Writer["signing_key_seed"])
	w, err := audittrail.Open(audittrail.Options{Directory: dir, Stream: v.Writer["stream"], SigningKey: ed25519.NewKeyFromSeed(seed)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append("span", numbered(7)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	report, err := auditverify.Verify(dir, auditverify.Options{TrustedKeys: []ed25519.PublicKey{ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)}})
	if err != nil || report.Verdict != auditverify.Verified {
		t.Fatalf("the continued v1 trail: %v %+v", err, report)
	}
	cps, err := os.ReadFile(filepath.Join(dir, auditformat.CheckpointFileName(v.Writer["stream"])))
	if err != nil || strings.Contains(string(cps), auditformat.FormatV2) {
		t.Fatalf("a version 2 statement in a version 1 stream: %v\n%s", err, cps)
	}
}
