package audittrail

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
)

// compressor gzips closed chain files in order on one goroutine, so compression never holds the writer's lock
// and, deflating in a child process of low priority, never takes the writer's own CPU share.
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
// through), and only regular files are read or written (trailDir). The deflating itself runs in a child process
// at the lowest priority (deflate_process.go); if that fails, in this process.
func compressFile(dir *trailDir, plainName string) error {
	temporary := plainName + ".gz.tmp"
	in, err := dir.open(plainName, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	const create = os.O_RDWR | os.O_CREATE | os.O_EXCL // read back to check the child's output
	out, err := dir.open(temporary, create, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if err = dir.remove(temporary); err == nil {
			out, err = dir.open(temporary, create, 0o600)
		}
	}
	if err != nil {
		return err
	}
	if deflateInChild(in, out, info.Size()) != nil {
		err = deflateHere(in, out)
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

// deflateHere is the fallback: in gzipped into out from the start of both, in this process.
func deflateHere(in, out *os.File) error {
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := out.Truncate(0); err != nil {
		return err
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return gzipStream(out, in)
}
