package auditformat

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
)

// Bounded line reading (§2.1), for every Go reader of a trail (the verifier, the writer's recovery): at most one
// line of MaxLineBytes plus one read buffer is held, a longer line is skipped to its "\n" and reported in its place;
// a .gz must be exactly one gzip member, nothing after it, decompressing to at most its limit, so a gzip bomb costs
// one buffer. Damaged or hostile content never panics: it becomes a LineProblem; only read errors of the file system
// are returned. Not safe for concurrent use of one reader.

const readBuffer = 1 << 16

// LineProblem takes the place of a line that cannot be handed to the parser: Kind is the §10 kind (malformed: a
// line longer than the limit; torn-line: the file ends inside an over-long line, or a .gz cannot be read further).
type LineProblem struct {
	Kind, Detail string
}

// EachLine calls fn with every line of f in order, numbered from 1: raw with its "\n" (the file's last piece
// without one, which the caller reports as torn), or a problem in the line's place. raw is valid only during the
// call (it is the reader's buffer or a reused one). A torn-line problem of a .gz
// is the last call. It returns the number of lines and an I/O error of the file system, if any.
func EachLine(f io.Reader, compressed bool, maxDecompressed int64, fn func(number int, raw []byte, problem *LineProblem)) (int, error) {
	var gz *gzipMember
	r := f
	if compressed {
		gz = &gzipMember{source: bufio.NewReaderSize(f, readBuffer), limit: maxDecompressed}
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
			case ends && len(line) == 0:
				// The whole line is in the read buffer: handed over without a copy (valid until the next read,
				// like line, which is reused).
			default:
				line = append(line, piece...)
			}
			if ends {
				number++
				switch {
				case long >= 0:
					fn(number, nil, &LineProblem{"malformed", tooLong(long - 1)})
				case len(line) == 0:
					fn(number, piece, nil)
				default:
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
				fn(number+1, nil, &LineProblem{"torn-line", bad.detail})
				return number + 1, nil
			}
			return number, err
		}
		switch {
		case long >= 0:
			number++
			fn(number, nil, &LineProblem{"torn-line", "last line has no newline (" + tooLong(long) + ")"})
		case len(line) > 0:
			number++
			fn(number, line, nil)
		}
		return number, nil
	}
}

// FirstLine is the first line of f without its "\n"; ok is false when the file has no complete first line within
// the line length limit (or a .gz cannot be read that far).
func FirstLine(f io.Reader, compressed bool) ([]byte, bool) {
	r := f
	if compressed {
		r = &gzipMember{source: bufio.NewReaderSize(f, readBuffer), limit: MaxDecompressedBytes}
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

// gzipMember decompresses exactly one gzip member of at most limit bytes, with nothing after it.
type gzipMember struct {
	source *bufio.Reader
	zr     *gzip.Reader
	total  int64
	limit  int64
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
	if g.total > g.limit {
		return 0, &gzipProblem{fmt.Sprintf("decompresses to more than %d bytes, the limit for a .gz chain file", g.limit)}
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
