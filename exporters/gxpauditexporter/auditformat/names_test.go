package auditformat

import "testing"

// Issue 14 point 6 (Go side): names and member forms are matched whole and ASCII-only (§2.1): a name ending in
// "\n" or with non-ASCII digits is not a trail file, and such a stream id or time is refused.
func TestNamesAndFormsAreMatchedWholeAndASCIIOnly(t *testing.T) {
	for _, name := range []string{"audit-a.0-000001.jsonl\n", "audit-a.0-00000\u0661.jsonl", "audit-a.0-000001.jsonl.gz\n",
		"audit-a\u00e9.0-000001.jsonl", "x/audit-a.0-000001.jsonl"} {
		if _, ok := ParseChainFileName(name); ok {
			t.Errorf("%q parsed as a chain file", name)
		}
	}
	if _, ok := ParseCheckpointFileName("audit-a.0.checkpoints.jsonl\n"); ok {
		t.Error("a checkpoint file name ending in a newline parsed")
	}
	for _, stream := range []string{"lims.0\n", "lims.\u0660", "", "a-b"} {
		if ValidStream(stream) {
			t.Errorf("stream %q accepted", stream)
		}
	}
	for _, recorded := range []string{"2026-01-01T00:00:00.00000000\u0661Z", "2026-01-01T00:00:00.000000000Z\n"} {
		if ValidTime(recorded) {
			t.Errorf("time %q accepted", recorded)
		}
	}
	if !ValidTime("2024-02-29T23:59:59.999999999Z") || ValidTime("2100-02-29T00:00:00.000000000Z") {
		t.Error("leap years are judged wrongly")
	}
}
