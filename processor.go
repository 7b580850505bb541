package debugz

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debugz/debugz/ringbuffer"
	"go.opentelemetry.io/otel"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// SpanProcessor is an OpenTelemetry [sdktrace.SpanProcessor] that keeps
// recent gRPC spans, and the spans around them, in bounded memory and counts
// every gRPC span per (method, kind). Register it on a TracerProvider beside
// any exporter; read it through [NewHandler] or its query methods.
//
// All methods are safe for concurrent use.
//
// # Locks
//
// Every lock is a leaf: no code path holds two of them at once, so there is
// no order to keep. Each is held for a few field updates or a copy, always
// released with defer, and never while calling anything that takes a lock of
// its own: not the SDK span's methods (StartTime, Attributes, EndTime… lock
// the live span), not a user's handler, not a render.
//
//   - rowBody.mu (rows.go), one per body of a (method, kind) row (one body,
//     or a stripe per P once the row is contended: stripes.go): its
//     counters, histograms, reservoirs and their index by ID (resIndex).
//     OnEnd takes one body's once per span. Readers take each body's in turn
//     to copy the counters (Summary) or to compare reservoir records' fields
//     (Spans, Count, Span, Trace), never to read a span: a peer filter runs
//     on the copies.
//   - rowTable.mu: serialises the rare writer that adds a row or gives one
//     its stripes; readers and OnEnd load the immutable row map and a row's
//     stripes without it.
//   - ring slot locks, one per slot of the recent, other (recordRing) and
//     log rings: a push holds its slot's to store one record, a reader its
//     slot's to copy one record out. The push counter and the heads of the
//     chains through the records (by span ID, trace ID, row) are atomics.
//   - activeShard.mu, one per shard of the in-flight table: OnStart and OnEnd
//     take their span's shard's to add or remove it (a constant amount of
//     work, even when the shard is full: the oldest is the head of a list);
//     LogHandler takes it to keep a line with its call; readers take each
//     shard's in turn to copy the entries, and read the spans' start times
//     (to age them out) after releasing it.
//
// Everything else the hot path touches is atomic (stopped, dropped, fault,
// resource, the evicted counters, the child table's slots).
type SpanProcessor struct {
	cfg     config
	started time.Time

	stopped  atomic.Bool
	shutdown sync.Once
	dropped  atomic.Uint64                     // spans OnStart or OnEnd gave up on after a panic
	fault    atomic.Pointer[fault]             // the first such panic
	resource atomic.Pointer[resource.Resource] // of the first span ended, for the pages' header

	recent *recordRing // gRPC spans, newest last
	// recentLogs are the latest records written through LogHandler, made
	// by its first call: a processor whose user logs nothing holds none.
	recentLogs     atomic.Pointer[ringbuffer.Ring[recentLog]]
	recentLogsOnce sync.Once
	feed           slog.Handler // behind Log, made by its first call
	feedOnce       sync.Once
	other          *recordRing // non-gRPC spans
	rows           rowTable
	active         activeTable
	names          methodNames // grpc-go's plugin's span names to methods
	retries        retryTable  // otelgrpc's failed attempts that a retry may replace

	// children map the spans under RPCs to their RPC (childTable), made
	// with recentLogs.
	children atomic.Pointer[childTable]
}

var _ sdktrace.SpanProcessor = (*SpanProcessor)(nil)

// record is one retained span: the SDK's read-only snapshot, kept without a
// copy, and what OnEnd already worked out about it, so that queries compare
// fields instead of calling the span's methods.
type record struct {
	span      sdktrace.ReadOnlySpan
	row       *row   // nil for a non-gRPC span
	method    string // "" for a non-gRPC span
	traceID   trace.TraceID
	spanID    trace.SpanID
	seq       uint64 // push number in its ring (recent or other)
	end       int64  // unix ns
	dur       int64  // ns
	code      codes.Code
	truncated bool
	near      bool      // used more than 80% of its deadline
	attempts  uint16    // attempts of a client call, where told (attemptOf, replaceAttempt); 0 otherwise
	stripe    uint8     // the row body it was counted in (row.lockBody)
	logs      *spanLogs // logged while it ran (LogHandler); nil if none
	// How many pushes back the one before it on each of its chains is
	// (recordRing, back): its span ID's and its trace ID's hash bucket's,
	// its row's; 0 ends a chain. 32 bits keep a ring slot at two cache lines.
	prevSpan, prevTrace, prevRow int32
}

// NewSpanProcessor returns a SpanProcessor configured by opts. Zero or
// negative values fall back to the documented defaults; it never fails.
func NewSpanProcessor(opts ...Option) *SpanProcessor {
	cfg := newConfig(opts)
	sp := &SpanProcessor{
		cfg:     cfg,
		started: time.Now(),
		recent:  newRecordRing(cfg.capacity),
		other:   newRecordRing(cfg.otherCapacity),
	}
	sp.rows.init(&sp.cfg)
	sp.active.init(cfg.maxActive)
	return sp
}

// OnStart tracks a starting server or client span as in flight; which of them
// are gRPC calls is sorted out when they are read ([SpanProcessor.Active]).
// A span whose name is longer than any method debugz keeps is not tracked:
// holding it would hold its name, and a caller's unknown method never ends.
// Once LogHandler has been called, any other span is noted under its RPC,
// lock-free, so that its log lines reach that RPC (childTable).
// It does not allocate in steady state. It is called by the SDK and is safe
// for concurrent use.
func (sp *SpanProcessor) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	if k := s.SpanKind(); k != trace.SpanKindServer && k != trace.SpanKindClient {
		sp.startChild(s) // under which RPC, for LogHandler: nothing before its first call
		return
	}
	if sp.stopped.Load() {
		return
	}
	defer sp.survive()
	if len(s.Name()) > maxMethodLen+1 { // "/" + method
		return
	}
	key := activeKey(s.SpanContext())
	sp.active.add(key, s)
	if sp.stopped.Load() { // Shutdown ran meanwhile: nothing will end it now
		sp.active.remove(key)
	}
}

// OnEnd counts a finished gRPC span in its (method, kind) row and keeps it in
// the recent ring and the row's reservoirs; a non-gRPC span goes to a ring of
// its own. It takes no lock for longer than a few field updates, does no I/O
// and does not allocate in steady state. It is called synchronously by the SDK
// and is safe for concurrent use.
func (sp *SpanProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if sp.stopped.Load() {
		return
	}
	defer sp.survive()
	kind := s.SpanKind()
	sc := s.SpanContext()
	rpcKind := kind == trace.SpanKindServer || kind == trace.SpanKindClient
	var ended activeEntry
	if rpcKind {
		ended = sp.active.remove(activeKey(sc))
	} else if t := sp.children.Load(); t != nil {
		t.end(activeKey(sc))
	}
	if sp.resource.Load() == nil {
		sp.resource.Store(s.Resource())
	}
	name := s.Name()
	scope := func() string { return s.InstrumentationScope().Name }
	if attemptOf(kind, name, scope) {
		sp.active.update(activeKey(s.Parent()), func(e *activeEntry) { e.attempts++ })
	}
	info := readAttributes(s.Attributes())
	method, isGRPC := rpcSpan(kind, name, scope, info.system, &sp.names)
	if isGRPC {
		method = fullMethod(method, info.service, info.method)
		if sp.cfg.ignores(method) {
			return
		}
	}
	start, end := s.StartTime(), s.EndTime()
	rec := record{span: s, traceID: sc.TraceID(), spanID: sc.SpanID(), end: end.UnixNano(), dur: int64(end.Sub(start)),
		logs: ended.logs, attempts: ended.attempts}
	events := s.Events()
	status := s.Status()
	var fromEvents *messageStats // message counts, when the attributes have none
	if !info.msgs.known {
		fromEvents = &info.msgs
	}
	if spanSize(name, status.Description, info.size, events, s.Links(), fromEvents) > sp.cfg.maxSpanBytes {
		rec.span, rec.truncated = truncate(s, sp.cfg.maxSpanBytes), true
	}
	if !isGRPC {
		sp.other.push(&rec)
		return
	}
	if len(method) > maxMethodLen { // a caller's name, kept in rows and spans
		method = cut(method, maxMethodLen)
	}
	if !info.hasCode && status.Code == otelcodes.Error {
		info.code = codes.Unknown
	}
	rec.method, rec.code, rec.near = method, info.code, info.msgs.deadlineUsed > nearDeadline
	rec.row = sp.rows.get(method, kind)
	attempt := info.attempt.number != 0 && kind == trace.SpanKindClient // of a call grpc may retry (retries.go)
	if attempt {
		sp.replaceAttempt(&rec, &info)
	}
	sp.recent.claim(&rec)
	rec.row.add(&rec, &info.msgs, sp.cfg.bounds) // threads it on the row's chain
	sp.recent.store(&rec)
	if attempt && (rec.code != codes.OK || info.attempt.number == 1) {
		// A failed attempt, in case another follows. A first attempt is
		// numbered only when it failed, even where its span says OK: grpc
		// ends an unanswered attempt it retries transparently without error.
		sp.retries.keep(&rec, &info.msgs)
	}
}

// fault is a panic inside debugz that OnStart or OnEnd recovered from: the
// RPC went on, its span was dropped. It should never happen; when it does,
// the summary shows the first one (Summary.Fault) so that it can be
// reported.
type fault struct {
	time  time.Time
	value string // the panic value, formatted
	stack string // the stack of the goroutine that panicked
}

// String is the fault as Summary.Fault reads: when, the value, the stack.
func (f *fault) String() string {
	if f == nil {
		return ""
	}
	return f.time.UTC().Format(time.RFC3339) + ": " + f.value + "\n" + f.stack
}

// survive keeps a bug in debugz from taking down the RPC whose span started
// or ended: the span is dropped and counted in Summary.Dropped, the first
// panic is kept with its stack (Summary.Fault) and passed to otel.Handle.
// Every lock on the paths it guards is released by a defer, so a recovered
// panic never leaves one held.
func (sp *SpanProcessor) survive() {
	if r := recover(); r != nil {
		sp.dropped.Add(1)
		f := &fault{time: time.Now(), value: fmt.Sprint(r), stack: string(debug.Stack())}
		if sp.fault.CompareAndSwap(nil, f) {
			otel.Handle(fmt.Errorf("debugz: recovered from a panic, span dropped: %s\n%s", f.value, f.stack))
		}
	}
}

// Shutdown stops the processor: later spans are ignored and nothing is in
// flight any more, while the finished spans and counts it holds stay
// readable. It runs once; later calls return nil at once.
func (sp *SpanProcessor) Shutdown(context.Context) error {
	sp.shutdown.Do(func() {
		sp.stopped.Store(true)
		sp.active.clear() // nothing will end them now
	})
	return nil
}

// ForceFlush returns nil: the processor keeps spans in memory and has nothing
// to flush.
func (sp *SpanProcessor) ForceFlush(context.Context) error { return nil }
