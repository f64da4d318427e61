package audittrail

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// compressor gzips closed chain files in order on one goroutine, so compression never holds the writer's lock.
// The .gz is written under a temporary name, fsynced, renamed and the directory fsynced; only then is the plain
// file unlinked. A crash at any point leaves the plain file alone or both (the verifier then reads the plain one).
type compressor struct {
	queue chan compressJob
	done  sync.WaitGroup
	mu    sync.Mutex
	errs  []error
}

// compressJob is one closed chain file of a directory (the writer's directory at the time it was closed).
type compressJob struct {
	dir  *trailDir
	name string
}

func newCompressor() *compressor {
	c := &compressor{queue: make(chan compressJob, 1024)}
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		for job := range c.queue {
			if err := compressFile(job.dir, job.name); err != nil { // the plain file stays; nothing is lost
				c.mu.Lock()
				c.errs = append(c.errs, err)
				c.mu.Unlock()
			}
		}
	}()
	return c
}

func (c *compressor) submit(dir *trailDir, plainName string) { c.queue <- compressJob{dir, plainName} }

// close waits until every submitted file is compressed.
func (c *compressor) close() {
	close(c.queue)
	c.done.Wait()
}

// compressFile gzips the closed chain file plainName of dir into plainName.gz. The temporary file is created
// exclusively (a stale one from a crash, or anything planted under its name, is unlinked first, never written
// through), and only regular files are read or written (trailDir).
func compressFile(dir *trailDir, plainName string) error {
	temporary := plainName + ".gz.tmp"
	in, err := dir.open(plainName, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := dir.createExclusive(temporary)
	if errors.Is(err, fs.ErrExist) {
		if err = dir.remove(temporary); err == nil {
			out, err = dir.createExclusive(temporary)
		}
	}
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
		err = dir.rename(temporary, plainName+".gz")
	}
	if err != nil {
		return err
	}
	crashPoint("compress-renamed")
	return dir.remove(plainName)
}
