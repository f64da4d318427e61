package auditbody

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// referenceItems is the plain statement of sortedItems: a stable sort by JCS key order, then the last of equal keys
// wins, at the position where the key first occurs.
func referenceItems(m pcommon.Map) []keyed {
	var items []keyed
	for k, v := range m.All() {
		items = append(items, keyed{k, v, len(items)})
	}
	sort.SliceStable(items, func(i, j int) bool { return auditformat.CompareKeys(items[i].key, items[j].key) < 0 })
	var out []keyed
	for _, it := range items {
		if len(out) > 0 && out[len(out)-1].key == it.key {
			out[len(out)-1].value = it.value
			continue
		}
		out = append(out, it)
	}
	return out
}

// spanWithAttributes decodes a span whose attributes are keys (duplicates kept, as a request from the wire can
// carry them) with values of every AnyValue type in turn.
func spanWithAttributes(t testing.TB, keys []string) ptrace.Span {
	kinds := []string{`{"stringValue":"v%d"}`, `{"intValue":"%d"}`, `{"boolValue":true}`, `{"doubleValue":%d.5}`,
		`{"bytesValue":"AAE="}`, `{"arrayValue":{"values":[{"intValue":"%d"}]}}`,
		`{"kvlistValue":{"values":[{"key":"z","value":{"stringValue":"%d"}},{"key":"a","value":{}}]}}`, `{}`}
	var attrs []string
	for i, k := range keys {
		name, _ := json.Marshal(k)
		value := strings.ReplaceAll(kinds[i%len(kinds)], "%d", strconv.Itoa(i))
		attrs = append(attrs, `{"key":`+string(name)+`,"value":`+value+`}`)
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"s","attributes":[` + strings.Join(attrs, ",") + `]}]}]}]}`))
	if err != nil {
		t.Skip("not decodable:", err)
	}
	return td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
}

func requireReferenceOrder(t *testing.T, keys []string) {
	t.Helper()
	span := spanWithAttributes(t, keys)
	var scratch sortScratch
	sorted, want := sortedItems(span.Attributes(), &scratch), referenceItems(span.Attributes())
	if sorted.Len() != len(want) {
		t.Fatalf("%q: %d items, want %d", keys, sorted.Len(), len(want))
	}
	for i := range want {
		got := sorted.at(i)
		if got.key != want[i].key || got.pos != want[i].pos ||
			!reflect.DeepEqual(got.value.AsRaw(), want[i].value.AsRaw()) {
			t.Fatalf("%q: item %d is %q@%d, want %q@%d", keys, i, got.key, got.pos, want[i].key, want[i].pos)
		}
	}
	var e Encoder
	res, scope := e.Resource(pcommon.NewResource(), ""), e.Scope(pcommon.NewInstrumentationScope(), "")
	v := requireCanonical(t, e.Span(nil, res, scope, span))
	attrs := member(t, &v, "attributes")
	if len(attrs.Members) != len(want) {
		t.Fatalf("%q: the body has %d attributes, want %d", keys, len(attrs.Members), len(want))
	}
}

func TestAttributeMembersAreInTheReferenceOrderWithTheLastDuplicate(t *testing.T) {
	for _, keys := range [][]string{
		nil, {"a"}, {"b", "a"}, {"k", "a", "k"}, {"k", "k", "k"}, {"z", "y", "x", "w", "v", "u", "t", "s", "r"},
		{"\uffff", "\U0001F600", "\ue000", "a"}, {"gxp.user.id", "enduser.id", "user.id", "gxp.user.id"},
		strings.Split("the quick brown fox jumps over the lazy dog and the cat sat on the mat again and again "+
			"until the thirty three keys of this sentence overflow the small index array of sortedItems", " "),
	} {
		requireReferenceOrder(t, keys)
	}
}

// FuzzAttributeOrder: any keys (split at NUL), duplicates and non-ASCII included, sort as the reference does and
// give a canonical body.
func FuzzAttributeOrder(f *testing.F) {
	for _, seed := range []string{"b\x00a", "k\x00a\x00k", "\uffff\x00\U0001F600\x00\ue000", "\xff\x00\xfe"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys := strings.Split(s, "\x00")
		if len(keys) > 200 {
			keys = keys[:200]
		}
		requireReferenceOrder(t, keys)
	})
}
