package audittrail

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sys/unix"
)

// The deflate process: a rotated chain file is gzipped by a child process of the writer's own executable, at the
// lowest CPU priority, so that compression never competes with the append path for the writer's cores (a collector
// runs with GOMAXPROCS=1: any goroutine of its own, the compressor's included, takes the one P from the receiver
// and the writer). The child is a pure filter: it inherits the plain file as stdin and the exclusively created
// temporary file as stdout, opens nothing, and exits; the writer alone names, fsyncs, renames and unlinks files
// (compress.go). The child's environment holds only the filter switch, so it sees no configuration or secret.
//
// Trust: the child runs this package's code from the very executable image of the writer (/proc/self/exe, never a
// path that an upgrade may have replaced). Its output is accepted only on exit status 0 and a gzip member whose
// trailer states the plain file's size; anything else is compressed again in the writer's process.

// deflateFilterEnv switches a process of this executable into the filter before main runs (see init).
const deflateFilterEnv = "GXPAUDIT_DEFLATE_FILTER"

// deflateFilterMode is the only value of deflateFilterEnv that starts the filter.
const deflateFilterMode = "gzip-bestspeed-v1"

// deflateExecutable is the running executable image: exec'ing it starts the same binary even if its path was
// replaced. A variable only so that a test can make the child fail.
var deflateExecutable = "/proc/self/exe"

func init() {
	if os.Getenv(deflateFilterEnv) == deflateFilterMode {
		os.Exit(runDeflateFilter(os.Stdin, os.Stdout))
	}
}

// runDeflateFilter is the child: every thread to nice 19 (threads created later inherit it), then stdin gzipped to
// stdout. Exit status 0 means the whole input was compressed and written.
func runDeflateFilter(in io.Reader, out io.Writer) int {
	lowerPriority()
	bw := bufio.NewWriterSize(out, 256<<10)
	if err := gzipStream(bw, in); err != nil || bw.Flush() != nil {
		return 1
	}
	return 0
}

// lowerPriority sets nice 19 on every thread of this process (on Linux a thread's nice value is its own).
func lowerPriority() {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		_ = unix.Setpriority(unix.PRIO_PROCESS, 0, 19)
		return
	}
	for _, task := range tasks {
		if tid, err := strconv.Atoi(task.Name()); err == nil {
			_ = unix.Setpriority(unix.PRIO_PROCESS, tid, 19)
		}
	}
}

// gzipStream writes in to out as one gzip member at the fastest level of a fast deflate. It is the one encoding
// of compressed chain files, in the child and in the writer's own fallback.
func gzipStream(out io.Writer, in io.Reader) error {
	zw, _ := gzip.NewWriterLevel(out, gzip.BestSpeed)
	if _, err := io.Copy(zw, in); err != nil {
		return err
	}
	return zw.Close()
}

// deflateInChild gzips in (read from its start) into out (empty, written from its start) in a child process and
// checks the result; size is in's length.
func deflateInChild(in, out *os.File, size int64) error {
	var stderr bytes.Buffer
	cmd := &exec.Cmd{
		Path:   deflateExecutable,
		Args:   []string{"gxpaudit-deflate"},
		Env:    []string{deflateFilterEnv + "=" + deflateFilterMode, "GOMAXPROCS=1"},
		Stdin:  in,
		Stdout: out,
		Stderr: &stderr,
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("deflate process: %w %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return checkGzipMember(out, size)
}

// errBadMember says the child's output is not a gzip member of the plain file's size.
var errBadMember = errors.New("deflate process output is not a gzip member of the file's size")

// checkGzipMember checks that f starts with the gzip magic and ends with a trailer whose ISIZE is size mod 2^32.
func checkGzipMember(f *os.File, size int64) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	var head [2]byte
	var tail [8]byte
	if info.Size() < 18 {
		return errBadMember
	}
	if _, err := f.ReadAt(head[:], 0); err != nil {
		return err
	}
	if _, err := f.ReadAt(tail[:], info.Size()-8); err != nil {
		return err
	}
	if head != [2]byte{0x1f, 0x8b} || binary.LittleEndian.Uint32(tail[4:]) != uint32(size) {
		return errBadMember
	}
	return nil
}
