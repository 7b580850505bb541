package grpcstats

import (
	"context"
	"encoding/hex"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/stats"
)

// With a retry policy, grpc calls a client's stats handler once per attempt
// of a call (TagRPC, Begin … End), each time with a context derived from the
// call's own, which grpc makes with context.WithCancel and cancels when the
// call ends: ctx.Done() is one channel per call, shared by its attempts. An
// instrumentation such as otelgrpc makes one span per attempt, siblings, and
// says nothing of retries; so the handler remembers, for the calls whose
// last attempt failed (only those can be retried), which attempt that was,
// and numbers the next one (semconv.AttemptNumber and the others, listed in
// the package documentation).

// maxCalls bounds the calls a handler remembers at once; minSweep is the
// size at which it first looks for ended calls to forget.
const (
	maxCalls = 4096
	minSweep = 64
)

// callTable is what a client handler remembers of the calls whose last
// attempt failed, keyed by the Done channel of the call's context. It holds
// no goroutine and no timer: an entry goes when an attempt of its call
// succeeds, and otherwise when a sweep finds its channel closed (the call
// ended). A sweep runs when an insert finds the table at its sweep mark,
// which then doubles the number of entries left, so its cost is amortised
// over the inserts; a table of maxCalls calls all still running takes no
// more, and their later attempts go unnumbered (each counted as a call).
type callTable struct {
	n       atomic.Int32 // entries, read without the lock by every attempt's Begin
	mu      sync.RWMutex
	m       map[<-chan struct{}]callEntry
	sweepAt int
}

// callEntry is what the table keeps of one call.
type callEntry struct {
	attempts int32        // attempts made so far, the last of them failed
	start    time.Time    // when the call's first attempt started
	last     trace.SpanID // the span of its last attempt
}

// lookup returns the entry of the call of ctx, an attempt's context. It
// reads nothing of ctx and takes no lock while the table is empty.
func (t *callTable) lookup(ctx context.Context) (callEntry, bool) {
	if t.n.Load() == 0 {
		return callEntry{}, false
	}
	done := ctx.Done()
	if done == nil {
		return callEntry{}, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.m[done]
	return e, ok
}

// failed remembers that attempt e.attempts of the call done failed.
func (t *callTable) failed(done <-chan struct{}, e callEntry) {
	if done == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.m[done]; !ok {
		if len(t.m) >= t.sweepAt {
			t.sweep()
		}
		if len(t.m) >= maxCalls {
			return
		}
	}
	if t.m == nil {
		t.m = make(map[<-chan struct{}]callEntry)
	}
	t.m[done] = e
	t.n.Store(int32(len(t.m)))
}

// forget drops the call of ctx, an attempt's context: that attempt
// succeeded.
func (t *callTable) forget(ctx context.Context) {
	if t.n.Load() == 0 {
		return
	}
	done := ctx.Done()
	if done == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, done)
	t.n.Store(int32(len(t.m)))
}

// sweep drops the calls that have ended and sets the next sweep mark.
func (t *callTable) sweep() {
	for done := range t.m {
		select {
		case <-done:
			delete(t.m, done)
		default:
		}
	}
	t.sweepAt = min(max(minSweep, 2*len(t.m)), maxCalls)
}

// len returns how many calls the table holds.
func (t *callTable) len() int { return int(t.n.Load()) }

// attempt is what an RPC's state knows of it as an attempt: on a client,
// its number within its call (the call's earlier attempts are in the
// callTable, read again at the end of a later attempt: the state of every
// RPC stays small); on a server, the attempts its client made before it.
type attempt struct {
	number      int32 // 1-based; 0 until Begin
	before      int32 // server: grpc-previous-rpc-attempts
	client      bool
	transparent bool // grpc made it as a transparent retry
}

// beginAttempt numbers a client attempt at its Begin, from the calls table.
func (h *handler) beginAttempt(st *rpcState, rs *stats.Begin) {
	a := &st.attempt
	a.client, a.transparent, a.number = true, rs.IsTransparentRetryAttempt, 1
	if e, ok := h.calls.lookup(st); ok {
		a.number = e.attempts + 1
	}
}

// previousAttempts reads a server call's grpc-previous-rpc-attempts header.
func (st *rpcState) previousAttempts(in *stats.InHeader) {
	if v := in.Header[previousAttemptsHeader]; len(v) > 0 {
		if n, err := strconv.ParseInt(v[0], 10, 32); err == nil && n > 0 {
			st.attempt.before = int32(n)
		}
	}
}

const previousAttemptsHeader = "grpc-previous-rpc-attempts"

// endAttempt appends the attempt attributes of the RPC, whose span is span,
// to attrs, and tells the calls table how the attempt ended. A client
// attempt is marked when it failed (grpc may retry it) or was not its
// call's first; a first attempt that succeeded, as most calls are, gets
// nothing and costs nothing more.
func (h *handler) endAttempt(attrs []attribute.KeyValue, st *rpcState, span trace.Span, failed bool) []attribute.KeyValue {
	a := &st.attempt
	if !a.client {
		if a.before > 0 {
			attrs = append(attrs, attribute.Int64(semconv.AttemptPreviousAttempts, int64(a.before)))
		}
		return attrs
	}
	if st.callSpan || a.number == 0 {
		return attrs // the span is the call's, not the attempt's (grpc-go's plugin): it counts its attempts itself
	}
	if !failed && a.number == 1 {
		return attrs
	}
	start := spanStart(span, st.start)
	call := callEntry{start: start} // the call so far, this attempt its first
	if a.number > 1 {
		call, _ = h.calls.lookup(st) // there since Begin: only this call's attempts change it, one after another
	}
	if failed {
		h.calls.failed(st.Done(), callEntry{attempts: a.number, start: call.start, last: span.SpanContext().SpanID()})
	} else {
		h.calls.forget(st)
	}
	attrs = append(attrs, attribute.Int64(semconv.AttemptNumber, int64(a.number)))
	if a.transparent {
		attrs = append(attrs, attribute.Bool(semconv.AttemptTransparent, true))
	}
	if a.number > 1 && !call.start.IsZero() {
		var id [16]byte
		hex.Encode(id[:], call.last[:])
		attrs = append(attrs, attribute.String(semconv.AttemptPrevious, string(id[:])),
			attribute.Int64(semconv.AttemptOffset, int64(start.Sub(call.start))))
	}
	return attrs
}

// spanStart returns when span started, as the OpenTelemetry SDK's spans
// say, so that the offset of an attempt is the distance between the starts
// of the spans a reader sees; else when the RPC's state was made.
func spanStart(span trace.Span, made time.Time) time.Time {
	if s, ok := span.(interface{ StartTime() time.Time }); ok {
		if t := s.StartTime(); !t.IsZero() {
			return t
		}
	}
	return made
}
