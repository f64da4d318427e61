package auditverify

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Whole-file checks of a .gz chain file (docs/audit-format.md §2, §2.1): a .gz is read only when it is wholly
// valid, checked before its first line is handed on, and a chain file present both plain and as .gz (a crash
// during compression) must hold one content twice.

// gzipDigest decompresses all of f (from its start) under the rules of §2.1 and rewinds it: the SHA-256 of the
// content, or why the file is not a valid .gz (damage is "" on success). err is a file system error.
func gzipDigest(f io.ReadSeeker) (sum [sha256.Size]byte, damage string, err error) {
	defer func() {
		if _, serr := f.Seek(0, io.SeekStart); err == nil && serr != nil {
			err = serr
		}
	}()
	source := bufio.NewReaderSize(f, 1<<16)
	zr, zerr := gzip.NewReader(source)
	if zerr != nil {
		return sum, gzipDamage(zerr), fsError(zerr)
	}
	zr.Multistream(false)
	h := sha256.New()
	n, cerr := io.Copy(h, io.LimitReader(zr, decompressedLimit+1))
	switch {
	case cerr != nil:
		return sum, gzipDamage(cerr), fsError(cerr)
	case n > decompressedLimit:
		return sum, fmt.Sprintf("decompresses to more than %d bytes, the limit for a .gz chain file", decompressedLimit), nil
	}
	if _, peek := source.Peek(1); peek == nil {
		return sum, "bytes follow the gzip member (a .gz holds exactly one)", nil
	}
	copy(sum[:], h.Sum(nil))
	return sum, "", nil
}

func fsError(err error) error {
	var pathErr *os.PathError
	var errno syscall.Errno
	if errors.As(err, &pathErr) || errors.As(err, &errno) {
		return err
	}
	return nil
}

func gzipDamage(err error) string {
	if fsError(err) != nil {
		return ""
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the compressed stream ends before its gzip trailer"
	}
	return "compressed file is damaged: " + err.Error()
}

// secondCopyProblem says why the .gz of plain chain file name is not an identical copy of plain (opened, at its
// start), or "" when there is no .gz or it holds exactly the plain bytes. plain is rewound.
func (d *trailDir) secondCopyProblem(name string, plain *os.File) string {
	packed, err := d.open(name + ".gz")
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		return "its .gz copy cannot be read: " + err.Error()
	}
	defer packed.Close()
	sum, damage, err := gzipDigest(packed)
	switch {
	case err != nil:
		return "its .gz copy cannot be read: " + err.Error()
	case damage != "":
		return "its .gz copy cannot be read (" + damage + ")"
	}
	h := sha256.New()
	_, err = io.Copy(h, plain)
	if _, serr := plain.Seek(0, io.SeekStart); err == nil {
		err = serr
	}
	if err != nil {
		return "the plain file cannot be read: " + err.Error()
	}
	if string(h.Sum(nil)) != string(sum[:]) {
		return "the plain file and its .gz copy hold different bytes"
	}
	return ""
}
