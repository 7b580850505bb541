package debugz

import (
	"context"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// attempts makes the client spans of otelgrpc's attempts of one call with
// grpcstats' attributes, as a caller's span's children.
type attempts struct {
	tr     trace.Tracer
	ctx    context.Context
	caller trace.Span
	start  time.Time    // the first attempt's
	prev   trace.SpanID // the last attempt's
	n      int
	// unanswered numbers a first attempt that says OK, as grpcstats does
	// for one the server never answered (grpc ends it without error
	// before a transparent retry).
	unanswered bool
}

func newAttempts(tp trace.TracerProvider, start time.Time) *attempts {
	a := &attempts{tr: tp.Tracer(semconv.OtelgrpcScope), start: start}
	a.ctx, a.caller = tp.Tracer("caller").Start(context.Background(), "caller", trace.WithTimestamp(start))
	return a
}

// attempt ends the call's next attempt, which started at offset from the
// first's and lasted dur, with code.
func (a *attempts) attempt(offset, dur time.Duration, code codes.Code) trace.SpanID {
	a.n++
	attrs := []attribute.KeyValue{
		attribute.String(semconv.RPCSystemName, "grpc"), attribute.String(semconv.RPCMethod, "a.S/M"),
		attribute.String(semconv.RPCResponseStatusCode, CodeName(code)),
	}
	if code != codes.OK || a.n > 1 || a.unanswered {
		attrs = append(attrs, attribute.Int(semconv.AttemptNumber, a.n))
	}
	if a.n > 1 {
		attrs = append(attrs, attribute.String(semconv.AttemptPrevious, a.prev.String()),
			attribute.Int64(semconv.AttemptOffset, int64(offset)))
	}
	_, s := a.tr.Start(a.ctx, "a.S/M", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(a.start.Add(offset)),
		trace.WithAttributes(attrs...))
	s.End(trace.WithTimestamp(a.start.Add(offset + dur)))
	a.prev = s.SpanContext().SpanID()
	return a.prev
}

func clientRow(t *testing.T, sp *SpanProcessor) MethodStats {
	t.Helper()
	for _, m := range sp.Summary().Methods {
		if m.Method == "a.S/M" && m.Kind == trace.SpanKindClient {
			return m
		}
	}
	t.Fatalf("no client row of a.S/M")
	return MethodStats{}
}

// A call of three attempts, the first two failed, counts once, OK, Retried,
// with the latency its caller saw in every figure of the row (count,
// buckets, quantiles, windows); it is listed once, with its attempts, and
// its earlier attempts are spans of its trace that are no calls. A call
// whose retries failed too counts once, failed. Between the attempts, the
// failed one is the call's outcome.
func TestRetriedCallCountsOnce(t *testing.T) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	start := time.Now().Add(-time.Second)
	ms := time.Millisecond

	ok := newAttempts(tp, start)
	first := ok.attempt(0, 10*ms, codes.Unavailable)
	if m := clientRow(t, sp); m.Count != 1 || m.Errors != 1 {
		t.Errorf("after the first attempt failed: count %d, errors %d; want 1, 1 (the call's outcome so far)", m.Count, m.Errors)
	}
	ok.attempt(30*ms, 10*ms, codes.Unavailable)
	last := ok.attempt(70*ms, 5*ms, codes.OK)

	m := clientRow(t, sp)
	var inBuckets uint64
	for _, n := range m.Buckets {
		inBuckets += n
	}
	if m.Count != 1 || m.Errors != 0 || m.Codes[codes.OK] != 1 || codesSeen(&m.Codes) != 1 || m.Retried != 1 || inBuckets != 1 {
		t.Errorf("row = count %d, errors %d, codes %v, retried %d, %d in buckets; want 1, 0, OK:1, 1, 1", m.Count, m.Errors, codeMap(m.Codes), m.Retried, inBuckets)
	}
	if m.Max != 75*ms || m.P50 < 70*ms || m.P50 > 75*ms {
		t.Errorf("row max %v, p50 %v; want 75ms, about 75ms (the call's, from its first attempt)", m.Max, m.P50)
	}
	if m.Last1m != (Window{Count: 1}) || m.Last10m != (Window{Count: 1}) || m.Recent.Count != 1 {
		t.Errorf("row last 1m %+v, last 10m %+v, recent %d; want one OK call each", m.Last1m, m.Last10m, m.Recent.Count)
	}
	for i, w := range windowsOf(sp, time.Now())[rowKey{m.Method, m.Kind}] {
		if w.Count != 1 || w.Errors != 0 || codesSeen(&w.Codes) != 1 || w.Codes[codes.OK] != 1 {
			t.Errorf("time window %d: count %d, errors %d, codes %v; want one OK call", i, w.Count, w.Errors, codeMap(w.Codes))
		}
	}

	calls := sp.Spans(Filter{Method: "a.S/M"})
	if len(calls) != 1 || calls[0].SpanID != last || calls[0].Attempts != 3 || calls[0].Duration != 75*ms {
		t.Fatalf("Spans = %d, first %+v; want the last attempt, Attempts 3, Duration 75ms", len(calls), calls)
	}
	unavailable := codes.Unavailable
	if n := sp.Count(Filter{Code: &unavailable}); n != 0 {
		t.Errorf("Count(UNAVAILABLE) = %d; want 0: the failed attempts are no calls", n)
	}
	if s, found := sp.Span(first); !found || s.Method != "" || s.Attempts != 0 || s.Code != codes.OK {
		t.Errorf("Span(first attempt) = found %v, method %q, attempts %d, code %v; want a span that is no call", found, s.Method, s.Attempts, s.Code)
	}
	var inTrace, asCalls int
	for _, s := range sp.Trace(calls[0].TraceID) {
		if s.Kind == trace.SpanKindClient {
			inTrace++
			if s.Method != "" {
				asCalls++
			}
		}
	}
	if inTrace != 3 || asCalls != 1 {
		t.Errorf("trace has %d client spans, %d of them calls; want 3, 1", inTrace, asCalls)
	}

	failed := newAttempts(tp, start)
	failed.attempt(0, ms, codes.Unavailable)
	failed.attempt(20*ms, ms, codes.Unavailable)
	m = clientRow(t, sp)
	if m.Count != 2 || m.Errors != 1 || m.Codes[codes.Unavailable] != 1 || m.Retried != 2 {
		t.Errorf("with a call that failed twice: count %d, errors %d, codes %v, retried %d; want 2, 1, UNAVAILABLE:1, 2", m.Count, m.Errors, codeMap(m.Codes), m.Retried)
	}

	once := newAttempts(tp, start)
	once.attempt(0, ms, codes.OK)
	if n := sp.Count(Filter{Method: "a.S/M"}); n != 3 {
		t.Errorf("Count = %d; want 3 calls", n)
	}
	retried := sp.Spans(Filter{retried: true}) // the pages' retried=1, the link of the row's "retried" chip
	if len(retried) != 2 || retried[0].Attempts != 2 || retried[1].Attempts != 3 {
		t.Errorf("Spans(retried) = %d spans %+v; want the calls of 2 and 3 attempts, not the one of 1", len(retried), retried)
	}
}

// An attempt that left the recent ring and is held only by the row's
// reservoirs is taken out of them too when its call retries.
// TestUnansweredAttemptReplaced: a first attempt that grpcstats numbered
// though its span says OK (it was never answered) is replaced by the
// attempt that followed it: one call, not two.
func TestUnansweredAttemptReplaced(t *testing.T) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	a := newAttempts(tp, time.Now().Add(-time.Second))
	a.unanswered = true
	a.attempt(0, time.Millisecond, codes.OK)
	a.attempt(2*time.Millisecond, time.Millisecond, codes.OK)
	if m := clientRow(t, sp); m.Count != 1 || m.Retried != 1 || m.Codes[codes.OK] != 1 {
		t.Errorf("row = count %d, retried %d, codes %v; want 1, 1, OK:1", m.Count, m.Retried, codeMap(m.Codes))
	}
}

func TestRetryReplacesReservoirCopy(t *testing.T) {
	sp := NewSpanProcessor(WithMaxSpans(2))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	call := newAttempts(tp, time.Now())
	first := call.attempt(0, time.Millisecond, codes.Unavailable)
	for range 4 { // push the first attempt out of the ring
		_, s := tp.Tracer(semconv.OtelgrpcScope).Start(context.Background(), "b.S/M", trace.WithSpanKind(trace.SpanKindServer))
		s.End()
	}
	call.attempt(2*time.Millisecond, time.Millisecond, codes.OK)
	if got := sp.Spans(Filter{Method: "a.S/M"}); len(got) != 1 || got[0].Attempts != 2 {
		t.Errorf("Spans(a.S/M) = %d spans; want 1, the call of 2 attempts", len(got))
	}
	if s, found := sp.Span(first); !found || s.Method != "" {
		t.Errorf("Span(first attempt) = found %v, method %q; want a span that is no call", found, s.Method)
	}
}

// The failed attempts kept in case their call retries are at most
// maxPendingAttempts, the oldest forgotten first: a retry of a forgotten
// attempt counts as a call of its own, one of a kept attempt replaces it.
func TestPendingAttemptsBounded(t *testing.T) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	calls := make([]*attempts, maxPendingAttempts+1)
	for i := range calls {
		calls[i] = newAttempts(tp, time.Now())
		calls[i].attempt(0, time.Millisecond, codes.Unavailable)
	}
	if n := len(sp.retries.pending); n != maxPendingAttempts {
		t.Errorf("%d failed attempts kept; want %d", n, maxPendingAttempts)
	}
	calls[0].attempt(time.Millisecond, time.Millisecond, codes.OK)            // forgotten: a call more
	calls[len(calls)-1].attempt(time.Millisecond, time.Millisecond, codes.OK) // kept: replaced
	m := clientRow(t, sp)
	if want := uint64(len(calls) + 1); m.Count != want || m.Codes[codes.OK] != 2 || m.Codes[codes.Unavailable] != want-2 {
		t.Errorf("row count %d, codes %v; want %d, OK:2, UNAVAILABLE:%d", m.Count, codeMap(m.Codes), want, want-2)
	}
	if n := len(sp.retries.pending); n != maxPendingAttempts-1 {
		t.Errorf("%d failed attempts kept after one was replaced; want %d", n, maxPendingAttempts-1)
	}
}
