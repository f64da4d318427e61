package gxpauditexporter

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// witnessRecorder is an HTTP endpoint that records what it is sent; down makes it answer 503 (a witness that cannot store).
type witnessRecorder struct {
	mu       sync.Mutex
	received []byte
	down     bool
}

func (w *witnessRecorder) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down || r.URL.Path != "/v1/checkpoints" {
		http.Error(rw, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.received = append(w.received, body...)
	_, _ = rw.Write([]byte(`{"held":1,"already_held":0}`))
}

func (w *witnessRecorder) lines() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.received)
}

func TestEveryCheckpointLineIsShippedToTheWitnessIncludingTheCloseCheckpoint(t *testing.T) {
	recorder := &witnessRecorder{}
	server := httptest.NewServer(recorder)
	defer server.Close()
	cfg := testConfig(t)
	cfg.Checkpoint.Witness.Endpoint = server.URL + "/v1/checkpoints"
	cfg.Checkpoint.MaxRecords = 2 // a checkpoint after every export call
	te, le := pipelines(t, cfg)
	for b := 0; b < 3; b++ {
		require.NoError(t, te.ConsumeTraces(context.Background(), traces(b, 2)))
	}
	require.NoError(t, te.Shutdown(context.Background()))
	require.NoError(t, le.Shutdown(context.Background()))

	file, err := os.ReadFile(filepath.Join(cfg.Directory, auditformat.CheckpointFileName(cfg.Stream)))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, bytes.Count(file, []byte("\n")), 4, "three batch checkpoints and the close checkpoint")
	assert.Equal(t, string(file), string(recorder.lines()), "the witness holds exactly the checkpoint file")
}

func TestAWitnessThatIsDownGetsTheLinesLaterAndNothingTwice(t *testing.T) {
	recorder := &witnessRecorder{down: true}
	server := httptest.NewServer(recorder)
	defer server.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, auditformat.CheckpointFileName("unit.0"))
	require.NoError(t, os.WriteFile(path, []byte("{\"a\":1}\n{\"b\":2}\n{\"partial\""), 0o600))
	s := newWitnessShipper(WitnessConfig{Endpoint: server.URL + "/v1/checkpoints", Timeout: defaultWitnessTimeout},
		dir, "unit.0", zap.NewNop())
	require.Error(t, s.ship(context.Background()))
	assert.Empty(t, recorder.lines())

	recorder.mu.Lock()
	recorder.down = false
	recorder.mu.Unlock()
	require.NoError(t, s.ship(context.Background()))
	assert.Equal(t, "{\"a\":1}\n{\"b\":2}\n", string(recorder.lines()), "complete lines only")
	require.NoError(t, s.ship(context.Background()))
	assert.Equal(t, "{\"a\":1}\n{\"b\":2}\n", string(recorder.lines()), "nothing is sent twice")

	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(":3}\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, s.ship(context.Background()))
	assert.Equal(t, "{\"a\":1}\n{\"b\":2}\n{\"partial\":3}\n", string(recorder.lines()))
}

func TestAReplacedCheckpointFileIsShippedAgainFromItsStart(t *testing.T) {
	recorder := &witnessRecorder{}
	server := httptest.NewServer(recorder)
	defer server.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, auditformat.CheckpointFileName("unit.0"))
	require.NoError(t, os.WriteFile(path, []byte("{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n"), 0o600))
	s := newWitnessShipper(WitnessConfig{Endpoint: server.URL + "/v1/checkpoints", Timeout: defaultWitnessTimeout},
		dir, "unit.0", zap.NewNop())
	require.NoError(t, s.ship(context.Background()))
	// A rollback puts an older, shorter checkpoint file in place; the writer then appends a conflicting line.
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.WriteFile(path, []byte("{\"a\":1}\n{\"b\":\"other\"}\n"), 0o600))
	require.NoError(t, s.ship(context.Background()))
	assert.Equal(t, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n{\"a\":1}\n{\"b\":\"other\"}\n", string(recorder.lines()),
		"the witness is sent the replaced file whole and holds the conflicting line")
}
