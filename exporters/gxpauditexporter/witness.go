package gxpauditexporter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// witnessShipper sends the stream's checkpoint lines to a checkpoint witness (docs/audit-format.md §7.1) as they are
// made: it follows the stream's checkpoint file and POSTs every complete line it has not yet had acknowledged, in
// file order. It never blocks or fails the audit path: a witness that is down is retried every second, the lines
// wait in the checkpoint file meanwhile, and a restart re-sends the whole file (the witness holds each line once).
// Guarantees: a line counts as shipped only after the witness answered 200 (it is then durable there).
type witnessShipper struct {
	endpoint string
	path     string
	client   *http.Client
	logger   *zap.Logger

	mu      sync.Mutex  // one shipment at a time (ticker and shutdown)
	offset  int64       // bytes of the checkpoint file the witness acknowledged
	shipped os.FileInfo // the file those bytes were read from
	failing bool
}

func newWitnessShipper(cfg WitnessConfig, directory, stream string, logger *zap.Logger) *witnessShipper {
	return &witnessShipper{
		endpoint: cfg.Endpoint,
		path:     filepath.Join(directory, auditformat.CheckpointFileName(stream)),
		client:   &http.Client{Timeout: cfg.Timeout},
		logger:   logger,
	}
}

// ship sends the complete lines after the acknowledged offset, if any.
func (s *witnessShipper) ship(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.Open(s.path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if s.shipped != nil && (!os.SameFile(info, s.shipped) || info.Size() < s.offset) {
		// Replaced or shrunk under a running writer (a restore, a rollback): ship the file as it now is from its
		// start. The witness keeps what it already holds and adds what differs, which is the evidence.
		s.logger.Warn("checkpoint file replaced or shrunk; shipping it again from the start",
			zap.String("file", s.path), zap.Int64("shipped_bytes", s.offset), zap.Int64("size", info.Size()))
		s.offset = 0
	}
	if _, err := f.Seek(s.offset, io.SeekStart); err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return err
	}
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		return nil // nothing new, or a line still being written
	}
	data = data[:end+1]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := s.client.Do(req)
	if err != nil {
		return s.failed(err)
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s.failed(fmt.Errorf("witness %s answered %d: %s", s.endpoint, resp.StatusCode, bytes.TrimSpace(answer)))
	}
	s.offset += int64(len(data))
	s.shipped = info
	if s.failing {
		s.logger.Info("checkpoint witness reachable again", zap.String("endpoint", s.endpoint))
		s.failing = false
	}
	return nil
}

func (s *witnessShipper) failed(err error) error {
	if !s.failing {
		s.logger.Warn("checkpoint witness unreachable; checkpoints wait in the checkpoint file and are re-sent",
			zap.String("endpoint", s.endpoint), zap.Error(err))
		s.failing = true
	}
	return err
}

// run ships every interval until stop is closed.
func (s *witnessShipper) run(stop <-chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	t := time.NewTicker(tickInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			_ = s.ship(context.Background())
		}
	}
}
