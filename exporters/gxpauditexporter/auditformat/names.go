package auditformat

import (
	"fmt"
	"regexp"
	"strconv"
)

// Patterns of record members and file names (§2, §4).
var (
	StreamPattern         = regexp.MustCompile(`^[A-Za-z0-9._]{1,64}$`)
	Hex64Pattern          = regexp.MustCompile(`^[0-9a-f]{64}$`)
	SeqPattern            = regexp.MustCompile(`^(0|[1-9][0-9]{0,18})$`)
	TimePattern           = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$`)
	chainFilePattern      = regexp.MustCompile(`^audit-([A-Za-z0-9._]{1,64})-(\d{6})\.jsonl(\.gz)?$`)
	checkpointFilePattern = regexp.MustCompile(`^audit-([A-Za-z0-9._]{1,64})\.checkpoints\.jsonl$`)
)

// ValidStream reports whether s is a legal stream id.
func ValidStream(s string) bool { return StreamPattern.MatchString(s) }

// ChainFileName is the plain name of chain file number index of stream.
func ChainFileName(stream string, index int) string {
	return fmt.Sprintf("audit-%s-%06d.jsonl", stream, index)
}

// CheckpointFileName is the name of the stream's checkpoint file.
func CheckpointFileName(stream string) string { return "audit-" + stream + ".checkpoints.jsonl" }

// LockFileName is the name of the stream's writer lock file.
func LockFileName(stream string) string { return "audit-" + stream + ".lock" }

// QuarantineFileName names the file that keeps a torn line of chain file index, whose seq would have been seq.
func QuarantineFileName(stream string, index int, seq uint64) string {
	return fmt.Sprintf("audit-%s-%06d.quarantine-%d.bin", stream, index, seq)
}

// ChainFile is a parsed chain file name.
type ChainFile struct {
	Stream     string
	Index      int
	Compressed bool
}

// Plain is the name without ".gz".
func (c ChainFile) Plain() string { return ChainFileName(c.Stream, c.Index) }

// Name is the name as found on disk.
func (c ChainFile) Name() string {
	if c.Compressed {
		return c.Plain() + ".gz"
	}
	return c.Plain()
}

// ParseChainFileName parses a chain file name; ok is false for any other name.
func ParseChainFileName(name string) (ChainFile, bool) {
	m := chainFilePattern.FindStringSubmatch(name)
	if m == nil {
		return ChainFile{}, false
	}
	index, _ := strconv.Atoi(m[2])
	return ChainFile{Stream: m[1], Index: index, Compressed: m[3] != ""}, true
}

// ParseCheckpointFileName returns the stream of a checkpoint file name.
func ParseCheckpointFileName(name string) (string, bool) {
	m := checkpointFilePattern.FindStringSubmatch(name)
	if m == nil {
		return "", false
	}
	return m[1], true
}
