package audittrail

import (
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// compressor gzips closed chain files in order on one goroutine, so compression never holds the writer's lock.
// The .gz is written under a temporary name, fsynced, renamed and the directory fsynced; only then is the plain
// file unlinked. A crash at any point leaves the plain file alone or both (the verifier then reads the plain one).
type compressor struct {
	dir   string
	queue chan string
	done  sync.WaitGroup
	mu    sync.Mutex
	errs  []error
}

func newCompressor(dir string) *compressor {
	c := &compressor{dir: dir, queue: make(chan string, 1024)}
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		for name := range c.queue {
			if err := compressFile(dir, name); err != nil { // the plain file stays; nothing is lost
				c.mu.Lock()
				c.errs = append(c.errs, err)
				c.mu.Unlock()
			}
		}
	}()
	return c
}

func (c *compressor) submit(plainName string) { c.queue <- plainName }

// close waits until every submitted file is compressed.
func (c *compressor) close() {
	close(c.queue)
	c.done.Wait()
}

func compressFile(dir, plainName string) error {
	source := filepath.Join(dir, plainName)
	temporary := source + ".gz.tmp"
	in, err := os.Open(source)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(temporary, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	// Fastest level of a fast deflate: compression is background work that shares the cores with the hot path.
	zw, _ := gzip.NewWriterLevel(out, gzip.BestSpeed)
	_, err = io.Copy(zw, in)
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		crashPoint("compress-temp-written")
		err = os.Rename(temporary, source+".gz")
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return err
	}
	crashPoint("compress-renamed")
	if err := os.Remove(source); err != nil {
		return err
	}
	return syncDir(dir)
}
