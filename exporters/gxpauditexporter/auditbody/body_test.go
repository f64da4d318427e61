package auditbody

import (
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// requireCanonical fails unless body is exactly the JCS form of itself and holds no JSON number.
func requireCanonical(t *testing.T, body []byte) auditformat.Value {
	t.Helper()
	v, err := auditformat.ParseJSON(body)
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	if v.HasNumber() {
		t.Fatalf("body holds a JSON number: %s", body)
	}
	again, err := auditformat.AppendCanonical(nil, &v)
	if err != nil || string(again) != string(body) {
		t.Fatalf("not canonical (%v):\n got %s\nwant %s", err, body, again)
	}
	return v
}

func member(t *testing.T, v *auditformat.Value, path ...string) *auditformat.Value {
	t.Helper()
	for _, name := range path {
		next, ok := v.Get(name)
		if !ok {
			t.Fatalf("member %s missing", strings.Join(path, "/"))
		}
		v = next
	}
	return v
}

func sampleSpan() (pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	rs.Resource().Attributes().PutStr("enduser.id", "resource-user")
	rs.Resource().Attributes().PutStr("gxp.risk.level", "high")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("gxp_otel")
	span := ss.Spans().AppendEmpty()
	span.SetName("step")
	span.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	span.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	span.SetKind(ptrace.SpanKindServer)
	span.SetStartTimestamp(1_700_000_000_000_000_000)
	span.SetEndTimestamp(1_700_000_000_500_000_000)
	attrs := span.Attributes()
	attrs.PutStr("user.id", "u-1")
	attrs.PutDouble("gxp.user.id", 1.5) // not a scalar text: user.id wins over it
	attrs.PutInt("count", -12)
	attrs.PutDouble("ratio", math.Inf(1))
	attrs.PutBool("ok", true)
	attrs.PutEmptyBytes("raw").FromRaw([]byte{0xff, 0x00})
	attrs.PutEmptySlice("list").AppendEmpty().SetStr("a")
	attrs.PutStr("\u00e9", "\x00")
	ev := span.Events().AppendEmpty()
	ev.SetName("retry")
	ev.SetTimestamp(1_700_000_000_100_000_000)
	span.Status().SetCode(ptrace.StatusCodeError)
	span.Status().SetMessage("boom")
	return rs.Resource(), ss.Scope(), span
}

func TestSpanBodyIsCanonicalAndTyped(t *testing.T) {
	res, scope, span := sampleSpan()
	var e Encoder
	body := e.Span(nil, e.Resource(res, ""), e.Scope(scope, ""), span)
	v := requireCanonical(t, body)
	checks := map[string]string{
		"name": "step", "kind": "SERVER", "trace_id": "0102030405060708090a0b0c0d0e0f10", "span_id": "0102030405060708",
		"parent_span_id": "", "start_time_unix_nano": "1700000000000000000", "end_time_unix_nano": "1700000000500000000",
	}
	for name, want := range checks {
		if got := member(t, &v, name).Str; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for path, want := range map[string]string{
		"attributes/count/intValue":                    "-12",
		"attributes/ratio/doubleValue":                 "Infinity",
		"attributes/raw/bytesValue":                    "/wA=",
		"gxp/user_id":                                  "u-1",
		"gxp/risk_level":                               "high",
		"status/code":                                  "ERROR",
		"dropped/events":                               "0",
		"resource/attributes/service.name/stringValue": "svc",
	} {
		if got := member(t, &v, strings.Split(path, "/")...).Str; got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if _, ok := v.Get("coerced"); ok {
		t.Error("nothing was coerced, but the body has coerced")
	}
}

func TestDuplicateAttributeKeysKeepTheLastValue(t *testing.T) {
	// pdata's Put replaces a key; a request read from the wire can still carry a key twice.
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{
		"name":"s","attributes":[{"key":"k","value":{"stringValue":"first"}},{"key":"a","value":{"intValue":"1"}},
		{"key":"k","value":{"stringValue":"last"}}]}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rs := td.ResourceSpans().At(0)
	ss := rs.ScopeSpans().At(0)
	if ss.Spans().At(0).Attributes().Len() != 3 {
		t.Fatal("the decoder dropped the duplicate; this test needs it")
	}
	var e Encoder
	v := requireCanonical(t, e.Span(nil, e.Resource(rs.Resource(), ""), e.Scope(ss.Scope(), ""), ss.Spans().At(0)))
	attrs := member(t, &v, "attributes")
	if len(attrs.Members) != 2 || member(t, attrs, "k", "stringValue").Str != "last" {
		t.Fatalf("attributes = %+v", attrs.Members)
	}
}

func TestTooDeepValuesAreRecordedAndFlagged(t *testing.T) {
	res, scope, span := sampleSpan()
	m := span.Attributes().PutEmptyMap("deep")
	for i := 0; i < 40; i++ {
		m = m.PutEmptyMap("d")
	}
	var e Encoder
	v := requireCanonical(t, e.Span(nil, e.Resource(res, ""), e.Scope(scope, ""), span))
	coerced := member(t, &v, "coerced")
	if len(coerced.Items) != 1 {
		t.Fatalf("coerced = %+v", coerced.Items)
	}
	want := "attributes/deep" + strings.Repeat("/kvlistValue/d", 32) + ": depth"
	if coerced.Items[0].Str != want {
		t.Fatalf("got %s\nwant %s", coerced.Items[0].Str, want)
	}
}

func TestInvalidUTF8IsReplacedAndFlagged(t *testing.T) {
	res, scope, span := sampleSpan()
	span.SetName("bad\xffname")
	span.Attributes().PutStr("b", "x\xfe")
	var e Encoder
	v := requireCanonical(t, e.Span(nil, e.Resource(res, ""), e.Scope(scope, ""), span))
	if got := member(t, &v, "name").Str; got != "bad\ufffdname" {
		t.Fatalf("name = %q", got)
	}
	coerced := member(t, &v, "coerced")
	got := []string{}
	for _, item := range coerced.Items {
		got = append(got, item.Str)
	}
	if strings.Join(got, "|") != "name: invalid-utf8|attributes/b/stringValue: invalid-utf8" {
		t.Fatalf("coerced = %v", got)
	}
}

func TestLogBodyIsCanonicalAndTyped(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	sl := rl.ScopeLogs().AppendEmpty()
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(5)
	lr.SetSeverityNumber(plog.SeverityNumberWarn)
	lr.SetSeverityText("WARN")
	lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	lr.Body().SetEmptyMap().PutDouble("x", 0.1)
	lr.Attributes().PutStr("gxp.agent.id", "agent-7")
	var e Encoder
	v := requireCanonical(t, e.Log(nil, e.Resource(rl.Resource(), ""), e.Scope(sl.Scope(), ""), lr))
	for path, want := range map[string]string{
		"time_unix_nano": "5", "observed_time_unix_nano": "0", "severity_number": "13", "severity_text": "WARN",
		"trace_flags": "01", "trace_id": "", "event_name": "", "body/kvlistValue/x/doubleValue": "0.1",
		"gxp/agent_id": "agent-7", "dropped_attributes": "0", "scope/name": "", "scope/version": "",
	} {
		if got := member(t, &v, strings.Split(path, "/")...).Str; got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
}
