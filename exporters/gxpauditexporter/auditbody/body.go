package auditbody

import (
	"encoding/hex"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/gxp-otel/gxp-otel/exporters/gxpauditexporter/auditformat"
)

// Encoder turns spans and log records into canonical record bodies. It keeps scratch buffers between calls.
type Encoder struct {
	scratch sortScratch
	events  []byte
	links   []byte
	body    []byte
	gxp     []byte
	// findings of the record being encoded: gxp and scalar members, attributes, the rest (events, links, log body)
	scalars, attr, rest findings
	// Ingest, when non-nil, is the canonical ingest object (§5.6) written into every body: who delivered the
	// request, as the collector authenticated it. The caller sets it per request; nil omits the member.
	Ingest []byte
}

// Resource is an encoded resource, shared by every record of one ResourceSpans/ResourceLogs.
type Resource struct {
	json     []byte
	gxp      gxpTexts
	findings findings
}

// Scope is an encoded instrumentation scope, shared by every record of one ScopeSpans/ScopeLogs.
type Scope struct {
	json     []byte
	findings findings
}

// Resource encodes {"attributes": {...}} plus "schema_url" when non-empty (§5.2).
func (e *Encoder) Resource(res pcommon.Resource, schemaURL string) *Resource {
	r := &Resource{}
	r.json = append(r.json, `{"attributes":`...)
	items := sortedItems(res.Attributes(), &e.scratch)
	r.json = r.findings.members(r.json, items, "resource/attributes", 0)
	r.gxp = collectGxp(items)
	if schemaURL != "" {
		r.json = append(r.json, `,"schema_url":`...)
		r.json = r.findings.text(r.json, schemaURL, "resource", "schema_url", "")
	}
	r.json = append(r.json, '}')
	return r
}

// Scope encodes {"name", "version"} plus "attributes" and "schema_url" when non-empty (§5.2).
func (e *Encoder) Scope(scope pcommon.InstrumentationScope, schemaURL string) *Scope {
	s := &Scope{}
	var f findings
	name := f.clean(scope.Name(), "scope/name")
	version := f.clean(scope.Version(), "scope/version")
	var attrs []byte
	if scope.Attributes().Len() > 0 {
		attrs = f.attributes(nil, scope.Attributes(), "scope/attributes", &e.scratch)
	}
	url := f.clean(schemaURL, "scope/schema_url")
	s.findings = f
	s.json = append(s.json, '{')
	if attrs != nil {
		s.json = append(s.json, `"attributes":`...)
		s.json = append(s.json, attrs...)
		s.json = append(s.json, ',')
	}
	s.json = append(s.json, `"name":`...)
	s.json = appendJCS(s.json, name)
	if url != "" {
		s.json = append(s.json, `,"schema_url":`...)
		s.json = appendJCS(s.json, url)
	}
	s.json = append(s.json, `,"version":`...)
	s.json = appendJCS(s.json, version)
	s.json = append(s.json, '}')
	return s
}

// clean returns s with invalid UTF-8 replaced, flagging it at path.
func (f *findings) clean(s, path string) string {
	if plainASCII(s) {
		return s
	}
	clean, changed := auditformat.ValidUTF8(s)
	if changed {
		f.invalid = append(f.invalid, path+": invalid-utf8")
	}
	return clean
}

var spanKinds = [...]string{
	ptrace.SpanKindUnspecified: "INTERNAL",
	ptrace.SpanKindInternal:    "INTERNAL",
	ptrace.SpanKindServer:      "SERVER",
	ptrace.SpanKindClient:      "CLIENT",
	ptrace.SpanKindProducer:    "PRODUCER",
	ptrace.SpanKindConsumer:    "CONSUMER",
}

var statusCodes = [...]string{
	ptrace.StatusCodeUnset: "UNSET",
	ptrace.StatusCodeOk:    "OK",
	ptrace.StatusCodeError: "ERROR",
}

// Traces appends the body of every span of td to dst, in request order, and the end offset of each body in dst to
// ends. Resources and scopes are encoded once per ResourceSpans and ScopeSpans.
func (e *Encoder) Traces(dst []byte, ends []int, td ptrace.Traces) ([]byte, []int) {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		res := e.Resource(rs.Resource(), rs.SchemaUrl())
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			scope := e.Scope(ss.Scope(), ss.SchemaUrl())
			for k := 0; k < ss.Spans().Len(); k++ {
				dst = e.Span(dst, res, scope, ss.Spans().At(k))
				ends = append(ends, len(dst))
			}
		}
	}
	return dst, ends
}

// Logs is Traces for log records.
func (e *Encoder) Logs(dst []byte, ends []int, ld plog.Logs) ([]byte, []int) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		res := e.Resource(rl.Resource(), rl.SchemaUrl())
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			scope := e.Scope(sl.Scope(), sl.SchemaUrl())
			for k := 0; k < sl.LogRecords().Len(); k++ {
				dst = e.Log(dst, res, scope, sl.LogRecords().At(k))
				ends = append(ends, len(dst))
			}
		}
	}
	return dst, ends
}

// Split cuts buf at ends into the bodies, appended to out.
func Split(out [][]byte, buf []byte, ends []int) [][]byte {
	start := 0
	for _, end := range ends {
		out = append(out, buf[start:end:end])
		start = end
	}
	return out
}

// begin starts a record at the end of dst: it appends `{"attributes":{...}` (every body's first member, so the
// attributes are encoded in place, never copied) and encodes its gxp member into e.gxp (§5.5).
func (e *Encoder) begin(dst []byte, attributes pcommon.Map, res *Resource) []byte {
	e.scalars.reset()
	e.attr.reset()
	e.rest.reset()
	items := sortedItems(attributes, &e.scratch)
	dst = append(dst, `{"attributes":`...)
	dst = e.attr.members(dst, items, "attributes", 0)
	gxp := resolveGxp(collectGxp(items), &res.gxp)
	e.gxp = e.scalars.gxpObject(e.gxp[:0], &gxp)
	return dst
}

// Span appends the canonical §5.3 body of span to dst.
func (e *Encoder) Span(dst []byte, res *Resource, scope *Scope, span ptrace.Span) []byte {
	dst = e.begin(dst, span.Attributes(), res)
	traceState := e.scalars.clean(span.TraceState().AsRaw(), "trace_state")
	name := e.scalars.clean(span.Name(), "name")
	message := e.scalars.clean(span.Status().Message(), "status/message")

	e.events = append(e.events[:0], '[')
	for i := 0; i < span.Events().Len(); i++ {
		ev := span.Events().At(i)
		paths := itemPaths(eventPaths, "events", i, "/name")
		evName := e.rest.clean(ev.Name(), paths.member)
		if i > 0 {
			e.events = append(e.events, ',')
		}
		e.events = append(e.events, `{"attributes":`...)
		e.events = e.rest.attributes(e.events, ev.Attributes(), paths.attributes, &e.scratch)
		e.events = append(e.events, `,"name":`...)
		e.events = appendJCS(e.events, evName)
		e.events = append(e.events, `,"time_unix_nano":"`...)
		e.events = strconv.AppendUint(e.events, uint64(ev.Timestamp()), 10)
		e.events = append(e.events, `"}`...)
	}
	e.events = append(e.events, ']')

	e.links = append(e.links[:0], '[')
	for i := 0; i < span.Links().Len(); i++ {
		link := span.Links().At(i)
		paths := itemPaths(linkPaths, "links", i, "/trace_state")
		state := e.rest.clean(link.TraceState().AsRaw(), paths.member)
		if i > 0 {
			e.links = append(e.links, ',')
		}
		e.links = append(e.links, `{"attributes":`...)
		e.links = e.rest.attributes(e.links, link.Attributes(), paths.attributes, &e.scratch)
		e.links = append(e.links, `,"span_id":`...)
		e.links = appendSpanID(e.links, link.SpanID())
		e.links = append(e.links, `,"trace_id":`...)
		e.links = appendTraceID(e.links, link.TraceID())
		e.links = append(e.links, `,"trace_state":`...)
		e.links = appendJCS(e.links, state)
		e.links = append(e.links, '}')
	}
	e.links = append(e.links, ']')

	dst = e.appendCoerced(dst, res, scope, &e.attr, &e.rest, &e.scalars, &e.attr, &e.rest)
	dst = append(dst, `,"dropped":{"attributes":"`...)
	dst = strconv.AppendUint(dst, uint64(span.DroppedAttributesCount()), 10)
	dst = append(dst, `","events":"`...)
	dst = strconv.AppendUint(dst, uint64(span.DroppedEventsCount()), 10)
	dst = append(dst, `","links":"`...)
	dst = strconv.AppendUint(dst, uint64(span.DroppedLinksCount()), 10)
	dst = append(dst, `"},"end_time_unix_nano":"`...)
	dst = strconv.AppendUint(dst, uint64(span.EndTimestamp()), 10)
	dst = append(dst, `","events":`...)
	dst = append(dst, e.events...)
	dst = append(dst, `,"gxp":`...)
	dst = append(dst, e.gxp...)
	dst = e.appendIngest(dst)
	dst = append(dst, `,"kind":"`...)
	dst = append(dst, kindName(span.Kind())...)
	dst = append(dst, `","links":`...)
	dst = append(dst, e.links...)
	dst = append(dst, `,"name":`...)
	dst = appendJCS(dst, name)
	dst = append(dst, `,"parent_span_id":`...)
	dst = appendSpanID(dst, span.ParentSpanID())
	dst = append(dst, `,"resource":`...)
	dst = append(dst, res.json...)
	dst = append(dst, `,"scope":`...)
	dst = append(dst, scope.json...)
	dst = append(dst, `,"span_id":`...)
	dst = appendSpanID(dst, span.SpanID())
	dst = append(dst, `,"start_time_unix_nano":"`...)
	dst = strconv.AppendUint(dst, uint64(span.StartTimestamp()), 10)
	dst = append(dst, `","status":{"code":"`...)
	dst = append(dst, statusName(span.Status().Code())...)
	dst = append(dst, `","message":`...)
	dst = appendJCS(dst, message)
	dst = append(dst, `},"trace_id":`...)
	dst = appendTraceID(dst, span.TraceID())
	dst = append(dst, `,"trace_state":`...)
	dst = appendJCS(dst, traceState)
	return append(dst, '}')
}

// Log appends the canonical §5.4 body of a log record to dst.
func (e *Encoder) Log(dst []byte, res *Resource, scope *Scope, lr plog.LogRecord) []byte {
	dst = e.begin(dst, lr.Attributes(), res)
	severityText := e.scalars.clean(lr.SeverityText(), "severity_text")
	eventName := e.scalars.clean(lr.EventName(), "event_name")
	e.body = e.rest.value(e.body[:0], lr.Body(), "", "body", 0)

	dst = append(dst, `,"body":`...)
	dst = append(dst, e.body...)
	// Value coercions: attributes, then body; invalid UTF-8 in member order: gxp and scalars, body, attributes.
	dst = e.appendCoerced(dst, res, scope, &e.attr, &e.rest, &e.scalars, &e.rest, &e.attr)
	dst = append(dst, `,"dropped_attributes":"`...)
	dst = strconv.AppendUint(dst, uint64(lr.DroppedAttributesCount()), 10)
	dst = append(dst, `","event_name":`...)
	dst = appendJCS(dst, eventName)
	dst = append(dst, `,"gxp":`...)
	dst = append(dst, e.gxp...)
	dst = e.appendIngest(dst)
	dst = append(dst, `,"observed_time_unix_nano":"`...)
	dst = strconv.AppendUint(dst, uint64(lr.ObservedTimestamp()), 10)
	dst = append(dst, `","resource":`...)
	dst = append(dst, res.json...)
	dst = append(dst, `,"scope":`...)
	dst = append(dst, scope.json...)
	dst = append(dst, `,"severity_number":"`...)
	dst = strconv.AppendInt(dst, int64(lr.SeverityNumber()), 10)
	dst = append(dst, `","severity_text":`...)
	dst = appendJCS(dst, severityText)
	dst = append(dst, `,"span_id":`...)
	dst = appendSpanID(dst, lr.SpanID())
	dst = append(dst, `,"time_unix_nano":"`...)
	dst = strconv.AppendUint(dst, uint64(lr.Timestamp()), 10)
	dst = append(dst, `","trace_flags":"`...)
	flags := byte(lr.Flags())
	dst = append(dst, hexDigit(flags>>4), hexDigit(flags&0xF))
	dst = append(dst, `","trace_id":`...)
	dst = appendTraceID(dst, lr.TraceID())
	return append(dst, '}')
}

// appendIngest appends `,"ingest":{...}` when the encoder has an ingest object (it sorts after "gxp").
func (e *Encoder) appendIngest(dst []byte) []byte {
	if e.Ingest == nil {
		return dst
	}
	dst = append(dst, `,"ingest":`...)
	return append(dst, e.Ingest...)
}

// appendCoerced appends `,"coerced":[...]` when anything was coerced: resource and scope first, then the
// record's value coercions (c1, c2), then invalid UTF-8 in the order of the body's members (i1, i2, i3).
func (e *Encoder) appendCoerced(dst []byte, res *Resource, scope *Scope, c1, c2, i1, i2, i3 *findings) []byte {
	lists := [...][]string{
		res.findings.coerced, scope.findings.coerced, c1.coerced, c2.coerced,
		res.findings.invalid, scope.findings.invalid, i1.invalid, i2.invalid, i3.invalid,
	}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	if n == 0 {
		return dst
	}
	dst = append(dst, `,"coerced":[`...)
	first := true
	for _, l := range lists {
		for _, entry := range l {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			clean, _ := auditformat.ValidUTF8(entry)
			dst = appendJCS(dst, clean)
		}
	}
	return append(dst, ']')
}

// listPaths are the findings paths of one event or link: its name (or trace state) and its attributes.
type listPaths struct{ member, attributes string }

// eventPaths and linkPaths hold the paths of the first events and links, so encoding a span builds no strings.
var eventPaths, linkPaths = pathTable("events", "/name"), pathTable("links", "/trace_state")

func pathTable(list, member string) []listPaths {
	out := make([]listPaths, 64)
	for i := range out {
		out[i] = newListPaths(list, i, member)
	}
	return out
}

func newListPaths(list string, i int, member string) listPaths {
	prefix := list + "/" + strconv.Itoa(i)
	return listPaths{prefix + member, prefix + "/attributes"}
}

func itemPaths(table []listPaths, list string, i int, member string) listPaths {
	if i < len(table) {
		return table[i]
	}
	return newListPaths(list, i, member)
}

func kindName(k ptrace.SpanKind) string {
	if int(k) >= 0 && int(k) < len(spanKinds) {
		return spanKinds[k]
	}
	return "INTERNAL"
}

func statusName(c ptrace.StatusCode) string {
	if int(c) >= 0 && int(c) < len(statusCodes) {
		return statusCodes[c]
	}
	return "UNSET"
}

func hexDigit(b byte) byte { return "0123456789abcdef"[b] }

func appendTraceID(dst []byte, id pcommon.TraceID) []byte {
	if id.IsEmpty() {
		return append(dst, `""`...)
	}
	dst = append(dst, '"')
	dst = hex.AppendEncode(dst, id[:])
	return append(dst, '"')
}

func appendSpanID(dst []byte, id pcommon.SpanID) []byte {
	if id.IsEmpty() {
		return append(dst, `""`...)
	}
	dst = append(dst, '"')
	dst = hex.AppendEncode(dst, id[:])
	return append(dst, '"')
}
