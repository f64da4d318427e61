package auditverify

import (
	"errors"
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
//     decompressed; a gzip bomb costs one buffer. The whole .gz is checked before its first line is handed on: a
//     violation or a damaged stream is one torn-line at line 1 and nothing else of the file.
//   - Damaged or hostile content never panics: it becomes a readProblem; only file system errors are returned.

const (
	// MaxLineBytes is the longest line accepted, without its "\n" (§2.1).
	MaxLineBytes = auditformat.MaxLineBytes
	// MaxDecompressedBytes is the most bytes one .gz chain file may decompress to (§2.1).
	MaxDecompressedBytes = auditformat.MaxDecompressedBytes
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

// regular says entry name is a regular file (not following a link).
func (d *trailDir) regular(name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG
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

// readProblem takes the place of a line that cannot be handed to the parser (auditformat.LineProblem).
type readProblem = auditformat.LineProblem

// eachLine is auditformat.EachLine with the decompressed size limit of §2.1, for a file read from its start. A .gz
// is checked whole first: when it is not wholly valid, fn gets one torn-line at line 1 and nothing else (§2.1).
func eachLine(f io.ReadSeeker, compressed bool, fn func(number int, raw []byte, problem *readProblem)) (int, error) {
	if compressed {
		_, damage, err := gzipDigest(f)
		if err != nil {
			return 0, err
		}
		if damage != "" {
			fn(1, nil, &readProblem{Kind: auditformat.ProblemTorn, Detail: damage})
			return 1, nil
		}
	}
	return auditformat.EachLine(f, compressed, decompressedLimit, fn)
}
