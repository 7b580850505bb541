package debugz

import (
	"cmp"
	"encoding/hex"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/debugz/debugz/internal/rpccode"
	"github.com/debugz/debugz/internal/semconv"
	"github.com/debugz/debugz/internal/view"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// The spans and traces the pages read, through source (source.go): the
// engine's Span copied into view.Span, attributes formatted and redacted.

func (s *source) Spans(q view.Query) []view.Span {
	spans := s.sp.Spans(s.filter(q))
	out := make([]view.Span, len(spans))
	for i := range spans {
		out[i] = s.span(&spans[i])
	}
	return out
}

func (s *source) Count(q view.Query) int { return s.sp.Count(s.filter(q)) }

// filter translates the page's query into the engine's.
func (s *source) filter(q view.Query) Filter {
	f := Filter{Method: q.Method, ErrorsOnly: q.Errors, NearDeadline: q.NearDeadline, Min: q.Min, Max: q.Max,
		Before: q.Before, Since: q.Since, Peer: q.Peer, Limit: q.Limit, retried: q.Retried}
	switch q.Side {
	case "fault":
		f.side = sideFault
	case "caller":
		f.side = sideCaller
	}
	switch q.Kind {
	case "server":
		f.Kind = trace.SpanKindServer
	case "client":
		f.Kind = trace.SpanKindClient
	}
	if q.Bucket >= 0 {
		f.Bucket = &q.Bucket
	}
	if q.Code >= 0 {
		c := codes.Code(q.Code)
		f.Code = &c
	}
	if q.Trace != "" {
		f.TraceID, _ = trace.TraceIDFromHex(q.Trace)
	}
	return f
}

func (s *source) Span(id string) (view.Span, bool) {
	sid, err := trace.SpanIDFromHex(id)
	if err != nil {
		return view.Span{}, false
	}
	// A call still in flight opens too. Its one probe comes first: finding
	// no retained span scans them all.
	if a, ok := s.sp.activeByID(sid); ok {
		ws := view.Span{TraceID: a.TraceID.String(), SpanID: id, Name: s.red.String(a.Method), Method: s.red.String(a.Method),
			Kind: kindName(a.Kind), Start: a.Start, Duration: max(time.Since(a.Start), 0), Running: true,
			Peer: a.Peer, Sampled: a.sampled}
		if a.ProgressKnown { // so far
			ws.MessagesKnown, ws.MessagesSent, ws.MessagesReceived = true, int64(a.MessagesSent), int64(a.MessagesReceived)
		}
		if a.bytesKnown {
			ws.BytesSent, ws.BytesReceived = int64(a.bytesSent), int64(a.bytesReceived)
		}
		if budget := a.Deadline.Sub(a.Start); !a.Deadline.IsZero() && budget > 0 {
			ws.DeadlineKnown, ws.DeadlineUsed = true, float64(ws.Duration)/float64(budget)
			ws.NearDeadline = ws.DeadlineUsed > nearDeadline
		}
		if a.Parent.IsValid() {
			ws.ParentSpanID = a.Parent.String()
		}
		return ws, true
	}
	if sp, ok := s.sp.Span(sid); ok {
		return s.span(&sp), true
	}
	return view.Span{}, false
}

func (s *source) Trace(id string) (view.Trace, bool) {
	tid, err := trace.TraceIDFromHex(id)
	if err != nil {
		return view.Trace{}, false
	}
	spans, running := s.sp.Trace(tid), s.sp.activeOf(tid)
	if len(spans) == 0 && len(running) == 0 {
		return view.Trace{}, false
	}
	t := view.Trace{TraceID: id}
	add := func(ws view.Span, end time.Time) {
		if t.Start.IsZero() || ws.Start.Before(t.Start) {
			t.Start = ws.Start
		}
		if end.After(t.End) {
			t.End = end
		}
		t.Spans = append(t.Spans, ws)
	}
	for i := range spans {
		add(s.span(&spans[i]), spans[i].End)
	}
	now := time.Now()
	for _, a := range running { // ended meanwhile if Trace has it
		if slices.ContainsFunc(spans, func(sp Span) bool { return sp.SpanID == a.SpanID }) {
			continue
		}
		ws := view.Span{TraceID: id, SpanID: a.SpanID.String(), Name: s.red.String(a.Method), Method: s.red.String(a.Method),
			Kind: kindName(a.Kind), Start: a.Start, Duration: max(now.Sub(a.Start), 0), Running: true}
		if a.Parent.IsValid() {
			ws.ParentSpanID = a.Parent.String()
		}
		add(ws, now)
	}
	slices.SortStableFunc(t.Spans, func(a, b view.Span) int { return a.Start.Compare(b.Start) })
	return t, true
}

func (s *source) TraceOTLP(id string) ([]byte, bool, error) {
	tid, err := trace.TraceIDFromHex(id)
	if err != nil {
		return nil, false, nil
	}
	spans := s.sp.Trace(tid)
	if len(spans) == 0 && len(s.sp.activeOf(tid)) == 0 { // a trace still all in flight is there, without a span yet
		return nil, false, nil
	}
	b, err := otlpJSON(spans, s.red)
	return b, true, err
}

func (s *source) span(sp *Span) view.Span {
	ws := view.Span{
		TraceID: sp.TraceID.String(), SpanID: sp.SpanID.String(), Name: s.red.String(sp.Name), Method: s.red.String(sp.Method),
		Kind: kindName(sp.Kind), StatusCode: sp.StatusCode, StatusMessage: s.red.String(sp.StatusMessage),
		Start: sp.Start, Duration: sp.Duration, Bucket: bucketOf(s.sp.cfg.bounds, int64(sp.Duration)), Peer: peer(sp.Attributes, sp.Kind),
		Sampled: sp.Sampled, Truncated: sp.Truncated, Attributes: s.attrs(sp.Attributes),
		Scope: sp.Scope.Name, ScopeVersion: sp.Scope.Version,
		MessagesKnown: sp.MessagesKnown, MessagesSent: sp.MessagesSent, MessagesReceived: sp.MessagesReceived,
		BytesSent: sp.BytesSent, BytesReceived: sp.BytesReceived, DeadlineUsed: sp.DeadlineUsed, DeadlineKnown: sp.DeadlineUsed > 0, Attempts: sp.Attempts,
		NearDeadline: sp.DeadlineUsed > nearDeadline,
	}
	if sp.Parent.SpanID().IsValid() {
		ws.ParentSpanID = sp.Parent.SpanID().String()
	}
	if d := sp.End.Sub(sp.Start); sp.Attempts > 1 && !sp.End.IsZero() && sp.Duration > d {
		ws.Start = sp.End.Add(-sp.Duration) // otelgrpc's last attempt, as the call its caller saw (Span.Attempts)
	}
	if sp.Method != "" {
		ws.Code, ws.CodeNum = rpccode.Name(int(sp.Code)), int(sp.Code)
	}
	for i := range sp.Events {
		e := &sp.Events[i]
		we := view.Event{Name: s.red.String(e.Name), Time: e.Time, Offset: e.Time.Sub(sp.Start), Attributes: s.attrs(e.Attributes)}
		readMessageEvent(&we, e)
		switch e.Name {
		case semconv.EventStack:
			for _, kv := range e.Attributes {
				if kv.Key == semconv.StackText {
					we.Stack = kv.Value.AsString()
				}
			}
		case semconv.EventStatusDetail:
			ws.StatusDetails = append(ws.StatusDetails, s.statusDetail(e.Attributes))
		}
		ws.Events = append(ws.Events, we)
	}
	if sp.Resource != nil {
		ws.Resource = s.attrs(sp.Resource.Attributes())
	}
	ws.LogsSkipped = sp.LogsSkipped
	for _, l := range sp.Logs {
		wl := s.logLine(&l)
		wl.Offset = l.Time.Sub(sp.Start)
		ws.Logs = append(ws.Logs, wl)
	}
	return ws
}

// statusDetail reads a status detail event's attributes (grpcstats), its
// type and text redacted as every value is.
func (s *source) statusDetail(kvs []attribute.KeyValue) view.StatusDetail {
	var d view.StatusDetail
	for _, kv := range kvs {
		switch kv.Key {
		case semconv.StatusDetailType:
			d.Type = s.red.String(kv.Value.String())
		case semconv.StatusDetailText:
			d.Text = s.red.String(kv.Value.String())
		}
	}
	return d
}

// readMessageEvent tells the pages what a message event, of grpcstats'
// timeline or of otelgrpc before v0.67, says about its message (see
// messageEventOf); it leaves any other event alone.
func readMessageEvent(we *view.Event, e *sdktrace.Event) {
	me, ok := messageEventOf(e)
	if !ok {
		return
	}
	we.Message = me.typ
	if me.id != nil {
		we.MessageID = me.id.String()
	}
	if me.size != nil {
		we.MessageSize = me.size.String()
	}
}

// attrs formats attributes for people and JSON, sorted by key, with
// credentials redacted (see [WithoutRedaction]). Type stays the type of the
// value as set.
func (s *source) attrs(kvs []attribute.KeyValue) []view.Attr {
	out := make([]view.Attr, 0, len(kvs))
	for _, kv := range kvs {
		a := view.Attr{Key: string(kv.Key), Type: strings.ToLower(kv.Value.Type().String())}
		v := s.red.KeyValue(kv).Value
		a.Value, a.JSON = v.String(), jsonValue(v)
		out = append(out, a)
	}
	slices.SortStableFunc(out, func(a, b view.Attr) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// jsonValue is an attribute value as plain JSON: maps become objects,
// slices arrays, bytes hex. JSON has no NaN or infinities: those floats
// become the strings "NaN", "Infinity" and "-Infinity", as in OTLP/JSON.
func jsonValue(v attribute.Value) any {
	switch v.Type() {
	case attribute.FLOAT64:
		return jsonFloat(v.AsFloat64())
	case attribute.FLOAT64SLICE:
		fs := v.AsFloat64Slice()
		out := make([]any, len(fs))
		for i, f := range fs {
			out[i] = jsonFloat(f)
		}
		return out
	case attribute.MAP:
		m := map[string]any{}
		for _, kv := range v.AsMap() {
			m[string(kv.Key)] = jsonValue(kv.Value)
		}
		return m
	case attribute.SLICE:
		vs := v.AsSlice()
		out := make([]any, len(vs))
		for i, x := range vs {
			out[i] = jsonValue(x)
		}
		return out
	case attribute.BYTESLICE:
		return hex.EncodeToString(v.AsByteSlice())
	}
	return v.AsInterface()
}

// jsonFloat is f, or its name if JSON has no number for it.
func jsonFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

func (s *source) Follow(q view.Query, after uint64) ([]view.Span, uint64, uint64) {
	spans, next, skipped := s.sp.follow(s.filter(q), after)
	out := make([]view.Span, len(spans))
	for i := range spans {
		out[i] = s.span(&spans[i])
	}
	return out, next, skipped
}
