package debugz

import (
	"context"
	"fmt"
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
// maxLogValue bytes, whose keys and group prefixes are cut to maxLogKey
// bytes each (a key under a group is at most 2×maxLogKey+1 bytes).
const (
	maxLogLines   = 8
	maxLogMessage = 1 << 10
	maxLogAttrs   = 8
	maxLogValue   = 256
	maxLogKey     = 128
)

// LogLine is a log record written while an RPC ran, kept with its span.
type LogLine struct {
	Time    time.Time
	Level   slog.Level
	Message string
	// Attrs are at most 8, values cut to 256 bytes, keys and the prefix of
	// the logger's groups ("req.") to 128 bytes each.
	Attrs []slog.Attr
	// Span is the span in whose context it was logged (its trace and span
	// IDs): the RPC's, or one under it at any depth; invalid outside any
	// span. SpanName is that span's name.
	Span     trace.SpanContext
	SpanName string

	grouped // while kept: the group of Attrs[own:], prefixed as they are read
}

// grouped is the group of a kept record's own attributes: the keys are
// stored without it and read with it (withGroup), so that keeping a record
// of a grouped logger allocates no key.
type grouped struct {
	group string // the logger's groups, "req.user"; "" for none
	own   int    // the first attribute of the record's own; those before came from WithAttrs, keyed already
}

// withGroup returns a copy of attrs, the caller's to change, with the keys
// of the record's own attributes under g's group.
func (g grouped) withGroup(attrs []slog.Attr) []slog.Attr {
	out := slices.Clone(attrs)
	if g.group != "" {
		for i := g.own; i < len(out); i++ {
			out[i].Key = g.group + "." + out[i].Key
		}
	}
	return out
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
		out[i].Attrs = out[i].withGroup(out[i].Attrs) // a copy the caller may change
		out[i].grouped = grouped{}
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
	attrs      []slog.Attr // from WithAttrs, kept with every record: bounded, under the groups of their time
	group      string      // from WithGroup, prefixed to the record's own keys; at most maxLogKey bytes
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
	e.nattrs = copy(e.attrs[:], h.attrs)
	e.group, e.own = h.group, e.nattrs
	r.Attrs(func(a slog.Attr) bool {
		if e.nattrs == maxLogAttrs {
			return false
		}
		e.attrs[e.nattrs] = bound(a)
		e.nattrs++
		return true
	})
	return e
}

// bound is a as kept: its key cut to maxLogKey bytes, its value resolved,
// and text values cut to maxLogValue bytes. It allocates only to cut (a
// copy, so that nothing kept holds on to a long string) and for the text of
// a value that is not a string, a number, a bool, a time or an error, such
// as a group, a struct or a map, or a LogValuer's own allocations.
func bound(a slog.Attr) slog.Attr {
	a.Key = textcut.Ellipsis(a.Key, maxLogKey)
	a.Value = a.Value.Resolve()
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(textcut.Ellipsis(a.Value.String(), maxLogValue))
	case slog.KindAny, slog.KindGroup, slog.KindLogValuer:
		a.Value = slog.StringValue(textcut.Ellipsis(text(a.Value), maxLogValue))
	}
	return a
}

// text is v as text: an error's message (without fmt, which allocates), a
// struct's field names included (%+v, as slog's TextHandler writes it) so
// that redaction can see which field is a password, or else slog's text for
// v. A panicking Error method reads as slog writes it.
func text(v slog.Value) (s string) {
	if v.Kind() != slog.KindAny {
		return v.String()
	}
	err, ok := v.Any().(error)
	if !ok {
		return fmt.Sprintf("%+v", v.Any())
	}
	defer func() {
		if p := recover(); p != nil {
			s = fmt.Sprintf("!PANIC: %v", p)
		}
	}()
	return err.Error()
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
		line.grouped = e.grouped
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

// WithAttrs keeps attrs bound (bound) with their keys under the handler's
// groups, at most maxLogAttrs in all: the work is done once per logger, not
// per record.
func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = slices.Clone(h.attrs)
	for _, a := range attrs {
		if len(c.attrs) == maxLogAttrs {
			break
		}
		a = bound(a)
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		c.attrs = append(c.attrs, a)
	}
	c.next = h.next.WithAttrs(attrs)
	return &c
}

// WithGroup prefixes name to the keys of the records' own attributes; the
// prefix, all groups joined, is cut to maxLogKey bytes.
func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h // as slog.Handler asks
	}
	c := *h
	c.next = h.next.WithGroup(name)
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = textcut.Ellipsis(name, maxLogKey)
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
	grouped         // of attrs[own:nattrs]
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
	l := LogLine{Time: r.time, Level: r.level, Message: r.message, Attrs: r.withGroup(r.attrs[:r.nattrs]), SpanName: r.spanName}
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
