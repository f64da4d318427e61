package auditverify

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// Reading limits of docs/audit-format.md §2.1: the one way the verifier opens a trail directory and reads a file's
// lines. Whatever the directory holds:
//
//   - No path is re-resolved: the directory is opened once, names are listed from and files opened relative to
//     that descriptor, never through a symbolic link (O_NOFOLLOW) and never blocking (O_NONBLOCK: a FIFO under a
//     chain file's name cannot hang the verifier); only a regular file is read (a link to /dev/zero is refused).
//   - Bounded memory: at most one line of MaxLineBytes plus one read buffer is held; a longer line is skipped to
//     its "\n" without being kept and reported in place of that line.
//   - Bounded work for .gz files: exactly one gzip member, nothing after it, at most MaxDecompressedBytes
//     decompressed; a gzip bomb costs one buffer. A violation or a damaged stream ends the file with a torn-line.
//   - Damaged or hostile content never panics: it becomes a readProblem; only file system errors are returned.

const (
	// MaxLineBytes is the longest line accepted, without its "\n" (§2.1).
	MaxLineBytes = auditformat.MaxLineBytes
	// MaxDecompressedBytes is the most bytes one .gz chain file may decompress to (§2.1).
	MaxDecompressedBytes = auditformat.MaxDecompressedBytes
	readBuffer           = 1 << 16
)

// decompressedLimit is MaxDecompressedBytes; the tests lower it to exercise the limit without a 4 GiB file.
var decompressedLimit int64 = MaxDecompressedBytes

// errNotRegular says a name of the trail is not a regular file; nothing was read from it.
var errNotRegular = errors.New("not a regular file (a symbolic link, FIFO, socket, device or directory): not read")

// trailDir is a trail directory opened once.
type trailDir struct {
	fd   int
	path string
}

func openTrailDir(path string) (*trailDir, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &trailDir{fd: fd, path: path}, nil
}

func (d *trailDir) close() { _ = unix.Close(d.fd) }

// names lists the directory's entries through its descriptor.
func (d *trailDir) names() ([]string, error) {
	fd, err := unix.Openat(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: d.path, Err: err}
	}
	dir := os.NewFile(uintptr(fd), d.path)
	defer dir.Close()
	return dir.Readdirnames(-1)
}

// open opens entry name for reading: errNotRegular (wrapped) unless it is a regular file.
func (d *trailDir) open(name string) (*os.File, error) {
	return openRegular(d.fd, name, unix.O_NOFOLLOW)
}

// openUserFile opens a file the user named (--checkpoints): links in its path are followed, but it must be a
// regular file, and opening never blocks.
func openUserFile(path string) (*os.File, error) {
	return openRegular(unix.AT_FDCWD, path, 0)
}

func openRegular(dirfd int, name string, extra int) (*os.File, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|extra, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			err = errNotRegular
		}
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		_ = unix.Close(fd)
		if err == nil {
			err = errNotRegular
		}
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		_ = unix.Close(fd)
		return nil, &os.PathError{Op: "fcntl", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// readProblem takes the place of a line that cannot be handed to the parser: kind is the §10 kind (malformed: a
// line longer than the limit; torn-line: the file ends inside an over-long line, or a .gz cannot be read further).
type readProblem struct {
	kind, detail string
}

// eachLine calls fn with every line of f in order, numbered from 1: raw with its "\n" (the file's last piece
// without one, which the caller reports as torn), or a problem in the line's place. A torn-line problem of a .gz
// is the last call. It returns the number of lines and an I/O error of the file system, if any.
func eachLine(f io.Reader, compressed bool, fn func(number int, raw []byte, problem *readProblem)) (int, error) {
	var gz *gzipMember
	r := f
	if compressed {
		gz = &gzipMember{source: bufio.NewReaderSize(f, readBuffer)}
		r = gz
	}
	reader := bufio.NewReaderSize(r, readBuffer)
	number := 0
	var line []byte
	long := -1 // >= 0: inside an over-long line, this many of its bytes seen and dropped
	for {
		piece, err := reader.ReadSlice('\n')
		if len(piece) > 0 {
			ends := piece[len(piece)-1] == '\n'
			switch {
			case long >= 0:
				long += len(piece)
			case len(line)+len(piece) > MaxLineBytes+1 || (!ends && len(line)+len(piece) > MaxLineBytes):
				long, line = len(line)+len(piece), line[:0]
			default:
				line = append(line, piece...)
			}
			if ends {
				number++
				if long >= 0 {
					fn(number, nil, &readProblem{"malformed", tooLong(long - 1)})
				} else {
					fn(number, line, nil)
				}
				line, long = line[:0], -1
			}
		}
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != io.EOF {
			var bad *gzipProblem
			if errors.As(err, &bad) {
				fn(number+1, nil, &readProblem{"torn-line", bad.detail})
				return number + 1, nil
			}
			return number, err
		}
		switch {
		case long >= 0:
			number++
			fn(number, nil, &readProblem{"torn-line", "last line has no newline (" + tooLong(long) + ")"})
		case len(line) > 0:
			number++
			fn(number, line, nil)
		}
		return number, nil
	}
}

// firstLine is the first line of f without its "\n"; ok is false when the file has no complete first line within
// the line length limit (or a .gz cannot be read that far).
func firstLine(f io.Reader, compressed bool) ([]byte, bool) {
	r := f
	if compressed {
		r = &gzipMember{source: bufio.NewReaderSize(f, readBuffer)}
	}
	reader := bufio.NewReaderSize(r, readBuffer)
	var line []byte
	for len(line) <= MaxLineBytes {
		piece, err := reader.ReadSlice('\n')
		line = append(line, piece...)
		if len(line) > 0 && line[len(line)-1] == '\n' && len(line) <= MaxLineBytes+1 {
			return line[:len(line)-1], true
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, false
		}
	}
	return nil, false
}

func tooLong(length int) string {
	return fmt.Sprintf("line of %d bytes, longer than the limit of %d", length, MaxLineBytes)
}

// gzipProblem is a .gz that cannot be read further.
type gzipProblem struct{ detail string }

func (p *gzipProblem) Error() string { return p.detail }

// gzipMember decompresses exactly one gzip member of at most MaxDecompressedBytes, with nothing after it.
type gzipMember struct {
	source *bufio.Reader
	zr     *gzip.Reader
	total  int64
	done   bool
}

func (g *gzipMember) Read(p []byte) (int, error) {
	if g.done {
		return 0, io.EOF
	}
	if g.zr == nil {
		zr, err := gzip.NewReader(g.source)
		if err != nil {
			return 0, g.damaged(err)
		}
		zr.Multistream(false)
		g.zr = zr
	}
	n, err := g.zr.Read(p)
	g.total += int64(n)
	if g.total > decompressedLimit {
		return 0, &gzipProblem{fmt.Sprintf("decompresses to more than %d bytes, the limit for a .gz chain file", decompressedLimit)}
	}
	if err == io.EOF {
		if _, peek := g.source.Peek(1); peek == nil {
			return n, &gzipProblem{"bytes follow the gzip member (a .gz holds exactly one)"}
		}
		g.done = true
		return n, io.EOF
	}
	if err != nil {
		return n, g.damaged(err)
	}
	return n, nil
}

func (g *gzipMember) damaged(err error) error {
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		return err // the file system, not the content
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &gzipProblem{"the compressed stream ends before its gzip trailer"}
	}
	return &gzipProblem{"compressed file is damaged: " + err.Error()}
}
