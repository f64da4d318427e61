package audittrail

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// trailDir is a trail directory held open by descriptor (docs/audit-format.md §2, §2.1). Trust: the directory's
// content is writable by others, so every file is opened relative to the descriptor, never through a symbolic link
// (O_NOFOLLOW on the final name), without blocking (a FIFO planted under a file's name cannot hang the writer), and
// only a regular file is accepted; new files are created exclusively. A directory path that is later replaced, by a
// symbolic link or another directory, is never resolved again: the writer goes on writing where it started.
//
// The directory handle is an os.Root, whose rename, remove and lstat act on the final name itself. Files are opened
// with openat(2) directly, because os.Root follows a symbolic link that stays inside the root, which would let a
// link planted in the trail redirect a write onto another of its files. Safe for concurrent use.
type trailDir struct {
	root *os.Root
	fd   *os.File // the directory itself, opened through root: the descriptor of openat and fsync
	path string   // for messages only; never re-resolved
}

// openTrailDir opens the directory at path, which must be a directory (the path itself may pass through symbolic
// links: it is configuration, resolved once here).
func openTrailDir(path string) (*trailDir, error) {
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	fd, err := root.Open(".")
	if err != nil {
		root.Close()
		return nil, err
	}
	return &trailDir{root: root, fd: fd, path: path}, nil
}

func (d *trailDir) close() {
	_ = d.fd.Close()
	_ = d.root.Close()
}

// deleted says the directory was removed (its descriptor still refers to it).
func (d *trailDir) deleted() bool {
	var st unix.Stat_t
	return unix.Fstat(int(d.fd.Fd()), &st) == nil && st.Nlink == 0
}

// recreate makes the directory again at its path after it was deleted (mode 0700, parents as needed) and opens
// it; a symbolic link or anything else at the path is refused, an existing real directory is used. The caller
// closes the old trailDir once nothing uses it.
func recreateTrailDir(path string) (*trailDir, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	before, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !before.IsDir() {
		return nil, &fs.PathError{Op: "open", Path: path, Err: errors.New("not a directory (a symbolic link in its place is refused)")}
	}
	d, err := openTrailDir(path)
	if err != nil {
		return nil, err
	}
	if after, err := d.fd.Stat(); err != nil || !os.SameFile(before, after) {
		d.close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: errors.New("the directory was replaced while it was opened")}
	}
	return d, nil
}

// unlinked says the open file's name was removed.
func unlinked(f *os.File) bool {
	var st unix.Stat_t
	return unix.Fstat(int(f.Fd()), &st) == nil && st.Nlink == 0
}

// join is the path of name in the directory as first opened, for messages and error values.
func (d *trailDir) join(name string) string { return filepath.Join(d.path, name) }

// errNotRegular says a trail file's name is taken by something other than a regular file.
var errNotRegular = errors.New("not a regular file (a symbolic link, FIFO, device or directory in its place is refused)")

// open opens the regular file name in the directory with flag (os.O_* flags) and, when creating, perm. A symbolic
// link, FIFO, device, socket or directory under that name is refused with an error wrapping errNotRegular;
// O_CREATE|O_EXCL fails on any existing name, a dangling link included.
func (d *trailDir) open(name string, flag int, perm os.FileMode) (*os.File, error) {
	fd, err := unix.Openat(int(d.fd.Fd()), name, flag|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, uint32(perm))
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			err = errNotRegular
		}
		return nil, &fs.PathError{Op: "open", Path: d.join(name), Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "fstat", Path: d.join(name), Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open", Path: d.join(name), Err: errNotRegular}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "fcntl", Path: d.join(name), Err: err}
	}
	return os.NewFile(uintptr(fd), d.join(name)), nil
}

// createExclusive creates name as a new regular file (mode 0600) for writing; an existing name of any type is an
// error wrapping fs.ErrExist.
func (d *trailDir) createExclusive(name string) (*os.File, error) {
	return d.open(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

// readDir lists the directory's entries (re-read on every call, through the descriptor).
func (d *trailDir) readDir() ([]os.DirEntry, error) {
	dir, err := d.root.Open(".")
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return dir.ReadDir(-1)
}

// exists says whether anything (a symbolic link included) has the name.
func (d *trailDir) exists(name string) bool {
	_, err := d.root.Lstat(name)
	return err == nil
}

// rename renames an entry of the directory (never following a link) and fsyncs the directory.
func (d *trailDir) rename(from, to string) error {
	if err := d.root.Rename(from, to); err != nil {
		return err
	}
	return d.sync()
}

// remove unlinks name (a link itself, never its target) and fsyncs the directory.
func (d *trailDir) remove(name string) error {
	if err := d.root.Remove(name); err != nil {
		return err
	}
	return d.sync()
}

// sync fsyncs the directory, making created, renamed and removed names durable.
func (d *trailDir) sync() error {
	if err := d.fd.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", d.path, err)
	}
	return nil
}
