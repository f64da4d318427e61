// Package auditbody maps OpenTelemetry spans and log records (pdata) to the canonical JSON bodies of `span` and
// `log` records (docs/audit-format.md §5), byte for byte as the Python writer does for the same data.
//
// An Encoder is not safe for concurrent use; give each goroutine its own (they are cheap and reuse their buffers).
package auditbody

import (
	"encoding/base64"
	"slices"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// MaxDepth is the nesting limit of §5.1: a map or array at this depth is recorded as a string and flagged.
const MaxDepth = 32

const depthMarker = "<depth limit 32 exceeded>"

// findings collects what §5.1 calls coercions, in the order the Python writer lists them: value coercions as
// they are encountered, then invalid UTF-8 in the order of the body's members.
type findings struct {
	coerced []string
	invalid []string
}

func (f *findings) reset() {
	f.coerced = f.coerced[:0]
	f.invalid = f.invalid[:0]
}

// text appends s as a JCS string, replacing invalid UTF-8 and flagging it at the path "<parent>/<name><suffix>"
// (just "<name><suffix>" at the top of the body), which is only built when needed.
func (f *findings) text(dst []byte, s string, parent, name, suffix string) []byte {
	if plainASCII(s) { // valid UTF-8 with nothing to escape: AppendString would copy it as it is
		return appendPlain(dst, s)
	}
	clean, changed := auditformat.ValidUTF8(s)
	if changed {
		f.invalid = append(f.invalid, join(parent, name)+suffix+": invalid-utf8")
	}
	return auditformat.AppendString(dst, clean)
}

// appendJCS appends valid UTF-8 s as a JCS string: auditformat.AppendString, with the plainASCII shortcut.
func appendJCS(dst []byte, s string) []byte {
	if plainASCII(s) {
		return appendPlain(dst, s)
	}
	return auditformat.AppendString(dst, s)
}

func appendPlain(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// plainASCII reports whether s is printable ASCII without '"' and '\\' (bytes 0x20-0x7F but those two): such a
// string is valid UTF-8 and its JCS form is s between quotes. It tests eight bytes per step (SWAR): a byte with the
// high bit set, a byte below 0x20, or a byte equal to '"' or '\\' anywhere in the word sends it to the exact path.
func plainASCII(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		v := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		quote, backslash := v^(ones*'"'), v^(ones*'\\')
		if (v|(v-ones*0x20)&^v|(quote-ones)&^quote|(backslash-ones)&^backslash)&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// keyed is one member of a map, the unit that gets sorted. pos is where the key first occurs in the map: the
// Python writer lists findings in that order (a dict keeps a key's first position and its last value).
type keyed struct {
	key   string
	value pcommon.Value
	pos   int
}

// attributes appends an attribute map as a JCS object {key: AnyValue}: keys sorted by UTF-16 code units, a
// duplicate key keeping its last value. path is the map's path inside the body (e.g. "attributes").
func (f *findings) attributes(dst []byte, m pcommon.Map, path string, scratch *sortScratch) []byte {
	return f.members(dst, sortedItems(m, scratch), path, 0)
}

// members appends sorted map members as a JCS object; the path of a member is "<path>/<key>".
func (f *findings) members(dst []byte, items sortedMembers, path string, depth int) []byte {
	c0, i0 := len(f.coerced), len(f.invalid)
	var marks []int // per item: end of its coerced and invalid findings, filled only once a finding appears
	dst = append(dst, '{')
	for n := range items.Len() {
		it := items.at(n)
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = f.text(dst, it.key, path, it.key, "")
		dst = append(dst, ':')
		dst = f.value(dst, it.value, path, it.key, depth)
		if marks == nil && (len(f.coerced) > c0 || len(f.invalid) > i0) {
			marks = make([]int, 0, 2*items.Len())
			for range n {
				marks = append(marks, c0, i0)
			}
		}
		if marks != nil {
			marks = append(marks, len(f.coerced), len(f.invalid))
		}
	}
	if marks != nil {
		f.coerced = reorder(f.coerced, c0, items, marks, 0)
		f.invalid = reorder(f.invalid, i0, items, marks, 1)
	}
	return append(dst, '}')
}

// reorder puts the findings each item produced (list[from:], item n's ending at marks[2n+which]) into the order
// of the items' first positions in their map.
func reorder(list []string, from int, items sortedMembers, marks []int, which int) []string {
	order := make([]int, items.Len())
	for i := range order {
		order[i] = i
	}
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && items.at(order[j-1]).pos > items.at(order[j]).pos; j-- {
			order[j-1], order[j] = order[j], order[j-1]
		}
	}
	out := make([]string, 0, len(list)-from)
	for _, n := range order {
		start := from
		if n > 0 {
			start = marks[2*(n-1)+which]
		}
		out = append(out, list[start:marks[2*n+which]]...)
	}
	return append(list[:from], out...)
}

// sortScratch holds the buffers sortedItems reuses: the members as read and the sorted index.
type sortScratch struct {
	items []keyed
	order []uint32
}

// sortedMembers is a map's members in JCS order without duplicates: member n is items[order[n]].
type sortedMembers struct {
	items []keyed
	order []uint32
}

func (s sortedMembers) Len() int { return len(s.order) }

func (s sortedMembers) at(n int) *keyed { return &s.items[s.order[n]] }

// sortedItems returns the map's members in JCS order without duplicates (the last of equal keys wins, at the
// first one's position). The result aliases scratch until its next use.
//
// The members are written once into scratch; sorting and removing duplicates permute a pointer-free index (keys
// compared through it), so neither writes a pointer: moving or copying keyed values would run the GC write
// barrier for each of their three pointers while a collection is marking, which costs more than the sort itself.
func sortedItems(m pcommon.Map, scratch *sortScratch) sortedMembers {
	items := slices.Grow(scratch.items[:0], m.Len())
	for k, v := range m.All() {
		items = append(items, keyed{k, v, len(items)})
	}
	order := slices.Grow(scratch.order[:0], len(items))
	for i := range items {
		order = append(order, uint32(i))
	}
	// Insertion sort is stable and allocation-free; attribute maps are small.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && auditformat.CompareKeys(items[order[j-1]].key, items[order[j]].key) > 0; j-- {
			order[j-1], order[j] = order[j], order[j-1]
		}
	}
	out := order[:0] // equal keys are adjacent, in map order: keep the last index, give it the first's position
	for _, i := range order {
		if n := len(out); n > 0 && items[out[n-1]].key == items[i].key {
			items[i].pos = items[out[n-1]].pos
			out[n-1] = i
			continue
		}
		out = append(out, i)
	}
	scratch.items, scratch.order = items[:0], order[:0]
	return sortedMembers{items, out}
}

// value appends one AnyValue; parent and name give its path ("<parent>/<name>") for findings.
func (f *findings) value(dst []byte, v pcommon.Value, parent, name string, depth int) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		dst = append(dst, `{"stringValue":`...)
		dst = f.text(dst, v.Str(), parent, name, "/stringValue")
		return append(dst, '}')
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return append(dst, `{"boolValue":true}`...)
		}
		return append(dst, `{"boolValue":false}`...)
	case pcommon.ValueTypeInt:
		dst = append(dst, `{"intValue":"`...)
		dst = strconv.AppendInt(dst, v.Int(), 10)
		return append(dst, `"}`...)
	case pcommon.ValueTypeDouble:
		dst = append(dst, `{"doubleValue":"`...)
		dst = auditformat.AppendDouble(dst, v.Double())
		return append(dst, `"}`...)
	case pcommon.ValueTypeBytes:
		dst = append(dst, `{"bytesValue":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, v.Bytes().AsRaw())
		return append(dst, `"}`...)
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		path := join(parent, name)
		if depth >= MaxDepth {
			f.coerced = append(f.coerced, path+": depth")
			return append(dst, `{"stringValue":"`+depthMarker+`"}`...)
		}
		if v.Type() == pcommon.ValueTypeSlice {
			dst = append(dst, `{"arrayValue":[`...)
			s := v.Slice()
			for i := 0; i < s.Len(); i++ {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = f.value(dst, s.At(i), path+"/arrayValue", strconv.Itoa(i), depth+1)
			}
			return append(dst, "]}"...)
		}
		var scratch sortScratch
		dst = append(dst, `{"kvlistValue":`...)
		dst = f.members(dst, sortedItems(v.Map(), &scratch), path+"/kvlistValue", depth+1)
		return append(dst, '}')
	}
	return append(dst, "{}"...)
}

// join builds a findings path: "<parent>/<name>", or name alone at the top of the body.
func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "/" + name
}
