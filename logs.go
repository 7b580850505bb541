package debugz

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/debugz/debugz/internal/textcut"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Bounds on the log lines kept per RPC: the first and the last maxLogLines
// records (those in between are counted), each message cut to
// maxLogMessage bytes and at most maxLogAttrs attributes of at most
// maxLogValue bytes.
const (
	maxLogLines   = 8
	maxLogMessage = 1 << 10
	maxLogAttrs   = 16
	maxLogValue   = 256
)

// LogLine is a log record written while an RPC ran, kept with its span.
type LogLine struct {
	Time    time.Time
	Level   slog.Level
	Message string
	Attrs   []slog.Attr  // at most 16, values cut to 256 bytes
	SpanID  trace.SpanID // the span in whose context it was logged: the RPC's, or a child's
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
// unchanged, and keeps those logged in the context of an RPC's span (or of a
// span directly under it) with that RPC, for its page and its JSON: the
// handler's own log lines, beside the call. Each RPC keeps its first and
// last 8 records, from Info up even when next logs only warnings; a record
// logged outside any RPC is only passed on, as next would have it. Keeping
// a record costs a copy of it under the in-flight table's lock and no
// allocation once a call has 16 (BenchmarkLogRecord); it never waits for a
// reader.
func (sp *SpanProcessor) LogHandler(next slog.Handler) slog.Handler {
	return &logHandler{sp: sp, next: next}
}

type logHandler struct {
	sp    *SpanProcessor
	next  slog.Handler
	attrs []slog.Attr // from WithAttrs, kept with every record
	group string      // from WithGroup, prefixed to the record's own keys
}

// Enabled reports whether next wants records of level l, or, inside an
// RPC's span, whether l is Info or above: the RPC page keeps those even when
// next logs only warnings.
func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l) || l >= slog.LevelInfo && trace.SpanFromContext(ctx).IsRecording()
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if s := trace.SpanFromContext(ctx); s.SpanContext().IsValid() && s.IsRecording() {
		h.keep(s, r)
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

// keep copies r, bounded, to the in-flight entry of span s or of its parent.
func (h *logHandler) keep(s trace.Span, r slog.Record) {
	id := s.SpanContext().SpanID()
	fill := func(line *LogLine) {
		line.Time, line.Level, line.SpanID = r.Time, r.Level, id
		line.Message = textcut.Ellipsis(r.Message, maxLogMessage)
		line.Attrs = line.Attrs[:0]
		add := func(a slog.Attr) bool {
			if len(line.Attrs) == maxLogAttrs {
				return false
			}
			if h.group != "" {
				a.Key = h.group + "." + a.Key
			}
			a.Value = a.Value.Resolve()
			if k := a.Value.Kind(); k == slog.KindString || k == slog.KindAny || k == slog.KindGroup || k == slog.KindLogValuer {
				a.Value = slog.StringValue(textcut.Ellipsis(a.Value.String(), maxLogValue))
			}
			line.Attrs = append(line.Attrs, a)
			return true
		}
		for _, a := range h.attrs {
			add(a)
		}
		r.Attrs(add)
	}
	if h.sp.active.addLog(activeKey(s.SpanContext()), fill) {
		return
	}
	if ro, ok := s.(sdktrace.ReadOnlySpan); ok { // a span under the RPC's: the RPC keeps it
		h.sp.active.addLog(activeKey(ro.Parent()), fill)
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
