package debugz

import (
	"context"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debugz/debugz/internal/goroutines"
	"github.com/debugz/debugz/internal/redact"
	"github.com/debugz/debugz/internal/rpccode"
	"github.com/debugz/debugz/internal/semconv"
	"github.com/debugz/debugz/internal/view"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// What the pages read: source adapts a SpanProcessor to view.Source, the
// interface of package web, redacting as it copies. This file holds the
// summary, the calls in flight, the process and the log records;
// source_spans.go the spans and traces.

// source adapts a SpanProcessor to view.Source.
type source struct {
	sp        *SpanProcessor
	red       *redact.Redactor  // nil with WithoutRedaction
	profiling atomic.Bool       // a CPU profile is being taken
	streaming map[string]string // registered method → streaming kind; read-only
	inFlight  inFlightRead      // Active's shared read, when many calls are in flight
}

// inFlightRead is the latest read of the calls in flight, shared by the
// viewers of the in-flight views for up to inFlightReuse while there are
// more than they list: reading 10,000 calls (every span's lock, a sort)
// takes milliseconds of CPU, and 100 viewers reloading every second would
// take it 100 times a second. Fewer calls are read afresh each time (one
// read at a time), so a call that just started or ended shows at once.
type inFlightRead struct {
	mu    sync.Mutex // held while reading: one read at a time
	at    time.Time
	limit int
	calls []view.Active
	total int
}

// inFlightReuse is how long one read of many calls in flight serves.
const inFlightReuse = time.Second

var _ view.Source = (*source)(nil)

func kindName(k trace.SpanKind) string { return k.String() }

func (s *source) Methods() []string {
	rows := s.sp.rows.all()
	out := make([]string, 0, len(rows)+len(s.streaming))
	for _, r := range rows {
		out = append(out, s.red.String(r.method))
	}
	for m := range s.streaming {
		out = append(out, m)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *source) Summary(windows bool) view.Summary {
	sum := s.sp.Summary()
	var win [][2]windowStats // by sum.Methods' rows, if asked for
	if windows {
		win = s.windows(sum.Methods)
	}
	out := view.Summary{Capacity: s.sp.recent.Cap(), Retained: sum.Retained, Evicted: sum.Evicted, Dropped: sum.Dropped,
		Fault:   sum.Fault,
		Buckets: sum.BucketBounds, Methods: make([]view.Method, len(sum.Methods), len(sum.Methods)+len(s.streaming))}
	// The rows' codes share one slice, as their MethodStats do.
	n := 0
	for i := range sum.Methods {
		n += codesSeen(&sum.Methods[i].Codes)
		if win != nil {
			n += codesSeen(&win[i][0].Codes) + codesSeen(&win[i][1].Codes)
		}
	}
	codeList := make([]view.CodeCount, 0, n)
	var seen map[string]bool // the registered methods with a server row
	if len(s.streaming) > 0 {
		seen = make(map[string]bool, len(sum.Methods))
	}
	for i := range sum.Methods {
		m, wm := &sum.Methods[i], &out.Methods[i]
		*wm = view.Method{Method: s.red.String(m.Method), Kind: kindName(m.Kind), Count: m.Count, Errors: m.Errors, Faults: m.Faults,
			Last1m: view.Window(m.Last1m), Last10m: view.Window(m.Last10m),
			Active: m.Active, Buckets: m.Buckets, P50: m.P50, P90: m.P90, P99: m.P99, Max: m.Max,
			Rate:     float64(m.Last1m.Count) / rateWindow, // over a whole minute, even the first: it changes only when calls do
			LastSeen: m.LastSeen, LogWarnings: m.LogWarnings, LogErrors: m.LogErrors,
			Recent:   view.Latency{Count: m.Recent.Count, P50: m.Recent.P50, P90: m.Recent.P90, P99: m.Recent.P99, Max: m.Recent.Max},
			MsgCalls: m.MessageCalls, MsgSent: m.MessagesSent, MsgReceived: m.MessagesReceived,
			BytesSent: m.BytesSent, BytesReceived: m.BytesReceived, NearDeadline: m.NearDeadline, Retried: m.Retried}
		wm.Codes, codeList = appendCodes(codeList, &m.Codes)
		if win != nil {
			for j := range win[i] {
				ws := &win[i][j]
				wm.In[j] = view.InWindow{Count: ws.Count, Errors: ws.Errors, Faults: ws.Faults, Buckets: ws.Buckets,
					P50: ws.P50, P90: ws.P90, P99: ws.P99, Max: ws.Max}
				wm.In[j].Codes, codeList = appendCodes(codeList, &ws.Codes)
			}
		}
		if seen != nil {
			wm.Streaming = s.streaming[m.Method]
			if m.Kind == trace.SpanKindServer {
				seen[m.Method] = true
			}
		}
	}
	for method, kind := range s.streaming { // registered, never seen on the server side
		if !seen[method] {
			out.Methods = append(out.Methods, view.Method{Method: method, Kind: kindName(trace.SpanKindServer),
				Streaming: kind, Buckets: make([]uint64, len(out.Buckets))})
		}
	}
	return out
}

// windows are the time windows of the rows of ms, a summary's: each row's,
// none for a row of calls in flight alone. Both are by method then kind, so
// one pass pairs them, where a map by row was a fifth of the windows' read.
func (s *source) windows(ms []MethodStats) [][2]windowStats {
	all := s.sp.rows.sortedRows() // those of ms, and any added since
	rows := make([]*row, len(ms))
	j := 0
	for i := range ms {
		k := rowKey{ms[i].Method, ms[i].Kind}
		for j < len(all) && compareKeys(all[j].rowKey, k) < 0 {
			j++
		}
		if j < len(all) && all[j].rowKey == k {
			rows[i] = all[j]
		}
	}
	return s.sp.windowSummaries(time.Now(), rows)
}

// codesSeen is the number of codes byCode counts calls of.
func codesSeen(byCode *[maxCode + 1]uint64) int {
	n := 0
	for _, k := range byCode {
		if k > 0 {
			n++
		}
	}
	return n
}

// appendCodes appends the codes byCode counts calls of to list, in code
// order, and returns them (nil if none) and list.
func appendCodes(list []view.CodeCount, byCode *[maxCode + 1]uint64) (codes, _ []view.CodeCount) {
	from := len(list)
	for c, k := range byCode {
		if k > 0 {
			list = append(list, view.CodeCount{Code: c, Name: rpccode.Name(c), Count: k})
		}
	}
	if len(list) == from {
		return nil, list
	}
	return list[from:len(list):len(list)], list
}

func (s *source) CPUByMethod(ctx context.Context, d time.Duration) (view.CPUProfile, error) {
	return cpuByMethod(ctx, &s.profiling, d)
}

func (s *source) Active(limit int) ([]view.Active, int) {
	r := &s.inFlight
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.total > limit && r.limit == limit && time.Since(r.at) < inFlightReuse {
		return slices.Clone(r.calls), r.total
	}
	calls, total := s.readActive(limit)
	r.at, r.limit, r.calls, r.total = time.Now(), limit, calls, total
	return slices.Clone(calls), total
}

// readActive reads the oldest limit calls in flight, and how many there are.
func (s *source) readActive(limit int) ([]view.Active, int) {
	act := s.sp.Active()
	total := len(act)
	act = act[:min(max(limit, 0), total)] // the oldest: only those are copied and redacted
	out := make([]view.Active, len(act))
	for i, a := range act {
		out[i] = view.Active{TraceID: a.TraceID.String(), SpanID: a.SpanID.String(), Method: s.red.String(a.Method),
			Kind: kindName(a.Kind), Start: a.Start, Peer: a.Peer,
			ProgressKnown: a.ProgressKnown, Sent: a.MessagesSent, Received: a.MessagesReceived, Deadline: a.Deadline}
	}
	return out, total
}

// logLine is a log record for the pages, redacted.
func (s *source) logLine(l *LogLine) view.LogLine {
	wl := view.LogLine{Time: l.Time, Level: l.Level.String(), Message: s.red.String(l.Message)}
	if l.Span.IsValid() {
		wl.SpanID = l.Span.SpanID().String()
	}
	kvs := make([]attribute.KeyValue, len(l.Attrs))
	for i, a := range l.Attrs {
		kvs[i] = slogAttr(a)
	}
	wl.Attrs = s.attrs(kvs)
	return wl
}

func (s *source) Logs(q view.LogQuery) []view.LogEntry {
	return s.logEntries(s.sp.Logs(s.logFilter(q)))
}

func (s *source) FollowLogs(q view.LogQuery, pos uint64) ([]view.LogEntry, uint64, uint64) {
	recs, next, skipped := s.sp.followLogs(s.logFilter(q), pos)
	return s.logEntries(recs), next, skipped
}

// logFilter translates the logs page's query into the engine's.
func (s *source) logFilter(q view.LogQuery) LogFilter {
	f := LogFilter{Method: q.Method, Text: q.Text, Since: q.Since, Limit: q.Limit}
	switch q.Level {
	case "DEBUG":
		f.MinLevel = math.MinInt // every level, below Debug too
	case "WARN":
		f.MinLevel = slog.LevelWarn
	case "ERROR":
		f.MinLevel = slog.LevelError
	}
	if q.Trace != "" {
		f.TraceID, _ = trace.TraceIDFromHex(q.Trace)
	}
	return f
}

// logEntries are log records for the pages, redacted.
func (s *source) logEntries(recs []LogRecord) []view.LogEntry {
	out := make([]view.LogEntry, len(recs))
	for i := range recs {
		out[i] = view.LogEntry{LogLine: s.logLine(&recs[i].LogLine), Method: s.red.String(recs[i].Method),
			SpanName: s.red.String(recs[i].SpanName)}
		if sc := recs[i].Span; sc.IsValid() {
			out[i].TraceID = sc.TraceID().String()
		}
	}
	return out
}

// Process says which process the pages show: the service and version of
// the spans' resource (else the main module's version), the host, the PID
// and when the processor started.
func (s *source) Process() view.Process {
	p := view.Process{Host: host(), PID: os.Getpid(), Start: s.sp.started, Version: buildVersion()}
	if res := s.sp.resource.Load(); res != nil {
		if v, ok := res.Set().Value(attribute.Key("service.name")); ok {
			p.Service = v.AsString()
		}
		if v, ok := res.Set().Value(attribute.Key("service.version")); ok && v.AsString() != "" {
			p.Version = v.AsString()
		}
	}
	return p
}

// host is the host name, read once.
var host = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return h
})

// buildVersion is the main module's version, or its VCS revision when it
// was built from a work tree ("(devel)"), read once.
var buildVersion = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return s.Value[:12]
		}
	}
	return ""
})

// maxStackBytes bounds the goroutine stacks shown for one RPC.
const maxStackBytes = 64 << 10

// Goroutines returns the stacks of the goroutines labelled with span ID id
// by grpcstats.WithProfilerLabels: where a running RPC's handler, and the
// goroutines it started, are now. It reads the process's shared goroutine
// dump (at most one a second, one at a time); web calls it only when a
// running RPC's page is opened, and asks first when there are many
// goroutines.
func (s *source) Goroutines(id string) ([]view.Goroutine, time.Time) {
	var out []view.Goroutine
	var start time.Time // a dump older than the call cannot show it
	if sid, err := trace.SpanIDFromHex(id); err == nil {
		if a, ok := s.sp.activeByID(sid); ok {
			start = a.Start
		}
	}
	stacks, at := goroutines.Shared(semconv.LabelSpanID, id, maxStackBytes, start)
	for _, s := range stacks {
		out = append(out, view.Goroutine(s))
	}
	return out, at
}
