package debugz

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/debugz/debugz/internal/textcut"
	"github.com/debugz/debugz/ringbuffer"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Bounds on the log lines kept: per RPC, the first and the last maxLogLines
// records (those in between are counted); each message cut to
// maxLogMessage bytes, and at most maxLogAttrs attributes of at most
// maxLogValue bytes.
const (
	maxLogLines   = 8
	maxLogMessage = 1 << 10
	maxLogAttrs   = 8
	maxLogValue   = 256
)

// LogLine is a log record written while an RPC ran, kept with its span.
type LogLine struct {
	Time    time.Time
	Level   slog.Level
	Message string
	Attrs   []slog.Attr // at most 8, values cut to 256 bytes
	// Span is the span in whose context it was logged (its trace and span
	// IDs): the RPC's, or one under it at any depth; invalid outside any
	// span. SpanName is that span's name.
	Span     trace.SpanContext
	SpanName string
}

// spanLogs are the log lines of one RPC: the first maxLogLines, and the
// last maxLogLines in a ring; skipped counts those in between.
type spanLogs struct {
	first            []LogLine
	last             []LogLine // a ring once full
	next             int       // where the ring writes next
	skipped          int
	warnings, errors uint64 // records at Warn and at Error or above, kept or skipped
}

// count counts a record of level l.
func (l *spanLogs) count(level slog.Level) {
	switch {
	case level >= slog.LevelError:
		l.errors++
	case level >= slog.LevelWarn:
		l.warnings++
	}
}

// slot returns the line the next record is written to: a new one among the
// first or the last, or, once both are full, the oldest of the last, whose
// attribute slice the record reuses (so a flood allocates nothing).
func (l *spanLogs) slot() *LogLine {
	switch {
	case len(l.first) < maxLogLines:
		l.first = append(l.first, LogLine{})
		return &l.first[len(l.first)-1]
	case len(l.last) < maxLogLines:
		l.last = append(l.last, LogLine{})
		return &l.last[len(l.last)-1]
	}
	s := &l.last[l.next]
	l.next = (l.next + 1) % maxLogLines
	l.skipped++
	return s
}

// lines returns the kept lines, oldest first, and how many were skipped.
func (l *spanLogs) lines() ([]LogLine, int) {
	if l == nil {
		return nil, 0
	}
	out := append([]LogLine(nil), l.first...)
	out = append(out, l.last[l.next:]...)
	out = append(out, l.last[:l.next]...)
	for i := range out {
		out[i].Attrs = slices.Clone(out[i].Attrs) // a copy the caller may change
	}
	return out, l.skipped
}

// LogHandler returns a [slog.Handler] that passes every record to next,
// unchanged, and keeps those logged in the context of an RPC's span, or of
// a span under it at any depth, with that RPC, for its page and its JSON:
// the handler's own log lines, beside the call. (From its first call on,
// the processor notes which RPC each span starts under; a span started
// before then reaches its RPC only if it is directly under it.) Each RPC keeps its first and
// last 8 records, from Info up even when next logs only warnings; a record
// logged outside any RPC is only passed on, as next would have it. Keeping
// a record costs a copy of it under the in-flight table's lock and no
// allocation once a call has 16 (BenchmarkLogRecord); it never waits for a
// reader.
func (sp *SpanProcessor) LogHandler(next slog.Handler) slog.Handler {
	sp.recentLogsOnce.Do(func() {
		sp.children.Store(new(childTable))
		sp.recentLogs.Store(ringbuffer.New[recentLog](maxRecentLogs))
	})
	return &logHandler{sp: sp, next: next, recentLogs: sp.recentLogs.Load()}
}

// Log keeps r as LogHandler keeps the records it handles, without passing
// it anywhere: for log feeds other than slog, such as the OpenTelemetry
// logs SDK (github.com/debugz/debugz/otellog). ctx is the context r was
// logged with.
func (sp *SpanProcessor) Log(ctx context.Context, r slog.Record) {
	sp.feedOnce.Do(func() { sp.feed = sp.LogHandler(slog.DiscardHandler) })
	_ = sp.feed.Handle(ctx, r)
}

type logHandler struct {
	sp         *SpanProcessor
	recentLogs *ringbuffer.Ring[recentLog]
	next       slog.Handler
	attrs      []slog.Attr // from WithAttrs, kept with every record
	group      string      // from WithGroup, prefixed to the record's own keys
}

// Enabled reports whether next wants records of level l, or, inside an
// RPC's span, whether l is Info or above: the RPC page keeps those even when
// next logs only warnings.
func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l) || l >= slog.LevelInfo && trace.SpanFromContext(ctx).IsRecording()
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	s := trace.SpanFromContext(ctx)
	e := h.record(s, r)
	if e.spanID.IsValid() && s.IsRecording() {
		h.keep(s, &e)
	}
	h.recentLogs.Push(e)
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

// record is r as kept, bounded, with the span it was logged in, filed
// under that span's name until keep finds its RPC.
func (h *logHandler) record(s trace.Span, r slog.Record) recentLog {
	e := recentLog{time: r.Time, level: r.Level, message: textcut.Ellipsis(r.Message, maxLogMessage)}
	if sc := s.SpanContext(); sc.IsValid() {
		e.traceID, e.spanID = sc.TraceID(), sc.SpanID()
		if ro, ok := s.(sdktrace.ReadOnlySpan); ok {
			e.spanName = cut(ro.Name(), maxMethodLen)
			e.method = strings.TrimPrefix(e.spanName, "/")
		}
	}
	add := func(a slog.Attr) bool {
		if e.nattrs == maxLogAttrs {
			return false
		}
		e.attrs[e.nattrs] = h.bound(a)
		e.nattrs++
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	return e
}

// bound is a as kept: its key under the handler's group, its value
// resolved, and text values cut to maxLogValue bytes.
func (h *logHandler) bound(a slog.Attr) slog.Attr {
	if h.group != "" {
		a.Key = h.group + "." + a.Key
	}
	a.Value = a.Value.Resolve()
	if k := a.Value.Kind(); k == slog.KindString || k == slog.KindAny || k == slog.KindGroup || k == slog.KindLogValuer {
		a.Value = slog.StringValue(textcut.Ellipsis(a.Value.String(), maxLogValue))
	}
	return a
}

// keep copies e to the in-flight entry of the RPC that span s runs under,
// and files e under that RPC's method. The child table names the RPC of a
// span under one, at any depth, in one probe; a span not in it is the RPC
// itself, or, started before the table was made or pushed out of it,
// perhaps directly under the RPC. Either way at most two in-flight entries
// are looked up, whatever the depth.
func (h *logHandler) keep(s trace.Span, e *recentLog) {
	fill := func(line *LogLine) {
		line.Time, line.Level, line.Message = e.time, e.level, e.message
		line.Span = trace.NewSpanContext(trace.SpanContextConfig{TraceID: e.traceID, SpanID: e.spanID})
		line.SpanName = e.spanName
		line.Attrs = append(line.Attrs[:0], e.attrs[:e.nattrs]...)
	}
	key := activeKey(s.SpanContext())
	var rpc sdktrace.ReadWriteSpan
	if to := h.sp.children.Load().rpcOf(key); to != 0 {
		rpc = h.sp.active.addLog(to, fill)
	} else if rpc = h.sp.active.addLog(key, fill); rpc == nil {
		if ro, ok := s.(sdktrace.ReadOnlySpan); ok {
			rpc = h.sp.active.addLog(activeKey(ro.Parent()), fill)
		}
	}
	if rpc != nil { // its own lock, now that the in-flight table's is released
		method, ok := rpcSpan(rpc.SpanKind(), rpc.Name(), func() string { return rpc.InstrumentationScope().Name }, "", &h.sp.names)
		if !ok {
			method = strings.TrimPrefix(rpc.Name(), "/")
		}
		e.method = cut(method, maxMethodLen)
	}
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	c.next = h.next.WithAttrs(attrs)
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	c.next = h.next.WithGroup(name)
	return &c
}

// maxRecentLogs is how many of the latest records the logs page keeps, RPC
// or not; each holds its attributes inline, so that keeping one allocates
// nothing.
const maxRecentLogs = 2048

// recentLog is a record in the ring of the latest ones.
type recentLog struct {
	time     time.Time
	level    slog.Level
	message  string
	attrs    [maxLogAttrs]slog.Attr
	nattrs   int
	traceID  trace.TraceID
	spanID   trace.SpanID
	spanName string // of the span it was logged in; "" outside
	method   string // of the RPC it ran under, else the span's name; "" outside
}

// LogRecord is one of the latest log records, RPC or not.
type LogRecord struct {
	LogLine
	// Method is the method of the RPC it was logged under, at any depth
	// below the RPC's span; outside any RPC, the name of the span it was
	// logged in; "" outside any span.
	Method string
}

// LogFilter selects records for [SpanProcessor.Logs]. The zero LogFilter
// selects every record kept.
type LogFilter struct {
	MinLevel slog.Level    // at least this level; the zero value is Info
	Method   string        // as Filter.Method: a full method exactly, else part of one
	TraceID  trace.TraceID // zero for any
	Text     string        // in the message, in any case; "" for any
	Since    time.Time     // logged at or after it; zero for any
	Limit    int           // at most this many, newest first; ≤ 0 means all
}

// Logs returns copies of the latest records written through LogHandler
// (the latest 2048, in an RPC or not) that match f, newest first.
func (sp *SpanProcessor) Logs(f LogFilter) []LogRecord {
	var out []LogRecord
	ring := sp.recentLogs.Load()
	if ring == nil {
		return nil
	}
	for _, r := range ring.Newest() {
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
		if f.matches(&r) {
			out = append(out, r.record())
		}
	}
	return out
}

// matches reports whether f selects r.
func (f *LogFilter) matches(r *recentLog) bool {
	return r.level >= f.MinLevel && (!f.TraceID.IsValid() || r.traceID == f.TraceID) &&
		(f.Method == "" || methodMatch(f.Method, r.method)) && (f.Text == "" || containsFold(r.message, f.Text)) &&
		(f.Since.IsZero() || !r.time.Before(f.Since))
}

// record is a copy of r that a caller may keep and change.
func (r *recentLog) record() LogRecord {
	l := LogLine{Time: r.time, Level: r.level, Message: r.message, Attrs: slices.Clone(r.attrs[:r.nattrs]), SpanName: r.spanName}
	if r.spanID.IsValid() {
		l.Span = trace.NewSpanContext(trace.SpanContextConfig{TraceID: r.traceID, SpanID: r.spanID})
	}
	return LogRecord{LogLine: l, Method: r.method}
}

// slogAttr is a log attribute as a span attribute, for the pages' formatting
// and redaction.
func slogAttr(a slog.Attr) attribute.KeyValue {
	v := a.Value
	switch v.Kind() {
	case slog.KindBool:
		return attribute.Bool(a.Key, v.Bool())
	case slog.KindInt64:
		return attribute.Int64(a.Key, v.Int64())
	case slog.KindFloat64:
		return attribute.Float64(a.Key, v.Float64())
	}
	return attribute.String(a.Key, v.String())
}
