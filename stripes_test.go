package debugz

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

const hotMethod = "a.S/Hot"

// hotSpans are n spans of hotMethod ending over the last 15 minutes, out
// of order, of several codes and latencies, some with message counts: each
// kind of slot a row keeps (tallies, minute histograms, windows) holds
// calls of several seconds and minutes, and the same slot of one and of an
// older one.
func hotSpans(n int, now time.Time) []sdktrace.ReadOnlySpan {
	spanCodes := []string{"OK", "OK", "OK", "NOT_FOUND", "INTERNAL", "UNAVAILABLE"}
	spans := make([]sdktrace.ReadOnlySpan, n)
	for i := range spans {
		ago := time.Duration(i*7919%900_000) * time.Millisecond // up to 15 minutes, shuffled
		attrs := []attribute.KeyValue{
			attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", hotMethod),
			attribute.String("rpc.response.status_code", spanCodes[i%len(spanCodes)]),
		}
		if i%3 == 0 {
			attrs = append(attrs, attribute.Int64(semconv.MessagesSent, int64(i%5)), attribute.Int64(semconv.MessagesReceived, 1),
				attribute.Int64(semconv.BytesSent, int64(i)), attribute.Float64(semconv.DeadlineUsed, float64(i%10)/9))
		}
		spans[i] = stub{name: hotMethod, kind: trace.SpanKindServer, scope: otelgrpcScope, attrs: attrs,
			dur: time.Duration(50+i*104729%2_000_000) * time.Microsecond, end: now.Add(-ago)}.snapshot()
	}
	return spans
}

// stripedProcessor returns a processor whose hotMethod server row has
// stripes bodies, each span going to the next in turn.
func stripedProcessor(t *testing.T, stripes int, opts ...Option) (*SpanProcessor, *row) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(stripes))
	sp := NewSpanProcessor(opts...)
	var next atomic.Int64
	sp.rows.pick = func(n int) int { return int(next.Add(1)-1) % n }
	r := sp.rows.get(hotMethod, trace.SpanKindServer)
	sp.rows.stripe(r)
	if got := len(r.bodies()); got != stripes {
		t.Fatalf("row has %d bodies after stripe; want %d", got, stripes)
	}
	return sp, r
}

// TestStripedRowReadsAsOne: a row counted in four bodies reads as the same
// row counted in one: its statistics, windows, spans and lookups.
func TestStripedRowReadsAsOne(t *testing.T) {
	now := time.Now()
	spans := hotSpans(3000, now)
	plain := NewSpanProcessor(WithMaxSpans(4096))
	striped, r := stripedProcessor(t, 4, WithMaxSpans(4096))
	for _, s := range spans {
		plain.OnEnd(s)
		striped.OnEnd(s)
	}
	for i, b := range r.bodies() {
		if b.count != 750 {
			t.Errorf("body %d counted %d spans; want 750 (a quarter, in turn)", i, b.count)
		}
	}
	sameRows(t, plain, striped, now, true)
	// With a small ring, the spans before it come from the reservoirs: a
	// striped row keeps the newest of each bucket in each body, so all of
	// those the plain row keeps, and each is found by its ID.
	plain = NewSpanProcessor(WithMaxSpans(64))
	striped, _ = stripedProcessor(t, 4, WithMaxSpans(64))
	for _, s := range spans {
		plain.OnEnd(s)
		striped.OnEnd(s)
	}
	notFound := codes.NotFound
	for _, f := range []Filter{{Method: hotMethod, Limit: 5000}, {Method: hotMethod, Code: &notFound, Limit: 5000}} {
		got := map[trace.SpanID]bool{}
		for _, s := range striped.Spans(f) {
			got[s.SpanID] = true
			if found, ok := striped.Span(s.SpanID); !ok || found.SpanID != s.SpanID {
				t.Errorf("Span(%s) of a striped row's reservoir: found %v", s.SpanID, ok)
			}
		}
		want := plain.Spans(f)
		for _, s := range want {
			if !got[s.SpanID] {
				t.Errorf("Spans(%+v) of the striped row lacks %s, which the plain row keeps", f, s.SpanID)
			}
		}
		if f.Code == nil && len(want) <= 64 || len(want) == 0 {
			t.Errorf("Spans(%+v) of the plain row: %d spans; want some (more than the ring holds, of every code)", f, len(want))
		}
	}
}

// sameRows checks that got reads as want does: its summary, its time
// windows, the spans of its method and each of their lookups. The newest 7
// are the same where both were pushed in the same order (samePushes).
func sameRows(t *testing.T, want, got *SpanProcessor, now time.Time, samePushes bool) {
	t.Helper()
	w := want.Summary().Methods
	for range 2 { // and again: a striped row is added up afresh each time
		if g := got.Summary().Methods; !reflect.DeepEqual(w, g) {
			t.Errorf("Summary().Methods:\n got %+v\nwant %+v", g, w)
		}
	}
	if w, g := windowsOf(want, now), windowsOf(got, now); !reflect.DeepEqual(w, g) {
		t.Errorf("time windows:\n got %+v\nwant %+v", g, w)
	}
	notFound := codes.NotFound
	for _, f := range []Filter{{Method: hotMethod, Limit: 5000}, {Method: hotMethod, Code: &notFound, Limit: 5000}, {Method: hotMethod, Limit: 7}} {
		ids := func(sp *SpanProcessor) []trace.SpanID {
			var out []trace.SpanID
			for _, s := range sp.Spans(f) {
				out = append(out, s.SpanID)
			}
			if f.Limit > 100 {
				slices.SortFunc(out, func(a, b trace.SpanID) int { return slices.Compare(a[:], b[:]) })
			}
			return out
		}
		w, g := ids(want), ids(got)
		if f.Limit < 100 && !samePushes {
			if len(g) != f.Limit {
				t.Errorf("Spans(%+v): %d spans; want %d", f, len(g), f.Limit)
			}
		} else if len(w) == 0 || !slices.Equal(w, g) {
			t.Errorf("Spans(%+v): %d spans, %d the same as the plain row's %d", f, len(g), countSame(w, g), len(w))
		}
		for _, id := range g[:min(len(g), 50)] {
			if s, ok := got.Span(id); !ok || s.Method != hotMethod {
				t.Errorf("Span(%s) = %v, found %v; want the span of %s", id, s.Method, ok, hotMethod)
			}
		}
	}
}

func countSame(a, b []trace.SpanID) int {
	n := 0
	for i := range min(len(a), len(b)) {
		if a[i] == b[i] {
			n++
		}
	}
	return n
}

// TestStripedRowConcurrent: spans ended from four goroutines into a
// striped row add up to the same row as the spans ended one by one.
func TestStripedRowConcurrent(t *testing.T) {
	now := time.Now()
	spans := hotSpans(4000, now)
	plain := NewSpanProcessor(WithMaxSpans(4096))
	for _, s := range spans {
		plain.OnEnd(s)
	}
	striped, _ := stripedProcessor(t, 4, WithMaxSpans(4096))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < len(spans); i += 4 {
				striped.OnEnd(spans[i])
			}
		})
	}
	wg.Wait()
	sameRows(t, plain, striped, now, false)
}

// TestContendedRowGetsStripes: OnEnds that find a row's lock taken
// stripeAfter times give it stripes, at most maxStripedRows rows a
// processor, and none with a single P.
func TestContendedRowGetsStripes(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	sp := NewSpanProcessor()
	sp.OnEnd(newUnary(hotMethod, "OK", time.Millisecond))
	r := sp.rows.get(hotMethod, trace.SpanKindServer)
	r.base.mu.Lock() // a reader, say, holds the lock while stripeAfter spans end
	var wg sync.WaitGroup
	for range stripeAfter {
		wg.Go(func() { sp.OnEnd(newUnary(hotMethod, "OK", time.Millisecond)) })
	}
	for deadline := time.Now().Add(10 * time.Second); len(r.bodies()) == 1 && time.Now().Before(deadline); {
		runtime.Gosched() // until the last waiter has made them
	}
	r.base.mu.Unlock()
	wg.Wait()
	if n := len(r.bodies()); n != 4 {
		t.Fatalf("the row has %d bodies after %d waits; want 4 (GOMAXPROCS)", n, r.waits.Load())
	}
	if m := sp.Summary().Methods; len(m) != 1 || m[0].Count != stripeAfter+1 {
		t.Errorf("Summary = %+v; want one row of %d calls", m, stripeAfter+1)
	}

	for i := range maxStripedRows + 1 {
		other := sp.rows.get(hotMethod+string(rune('a'+i)), trace.SpanKindServer)
		sp.rows.stripe(other)
		if _, striped := other.striped(); striped != (i < maxStripedRows-1) {
			t.Errorf("row %d of %d striped = %v; want %v (at most %d rows)", i+2, maxStripedRows+2, striped, !striped, maxStripedRows)
		}
	}

	runtime.GOMAXPROCS(1)
	single := NewSpanProcessor()
	r = single.rows.get(hotMethod, trace.SpanKindServer)
	single.rows.stripe(r)
	if _, striped := r.striped(); striped {
		t.Errorf("a row was striped with GOMAXPROCS 1")
	}
}

// TestRetriedCallStriped: a call whose attempts were counted in different
// bodies of a striped row counts once, by its last attempt.
func TestRetriedCallStriped(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	sp := NewSpanProcessor()
	var next atomic.Int64
	sp.rows.pick = func(n int) int { return int(next.Add(1)-1) % n }
	r := sp.rows.get("a.S/M", trace.SpanKindClient)
	sp.rows.stripe(r)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ms := time.Millisecond
	call := newAttempts(tp, time.Now().Add(-time.Second))
	call.attempt(0, 10*ms, codes.Unavailable)
	call.attempt(30*ms, 10*ms, codes.Unavailable)
	call.attempt(70*ms, 5*ms, codes.OK)
	used := 0
	for _, b := range r.bodies() {
		if b.last != 0 {
			used++
		}
	}
	m := clientRow(t, sp)
	if used != 3 || m.Count != 1 || m.Errors != 0 || m.Retried != 1 || m.Last1m != (Window{Count: 1}) {
		t.Errorf("%d bodies used; row count %d, errors %d, retried %d, last minute %+v; want 3, 1, 0, 1, one OK call",
			used, m.Count, m.Errors, m.Retried, m.Last1m)
	}
	for i, w := range windowsOf(sp, time.Now())[rowKey{m.Method, m.Kind}] {
		if w.Count != 1 || w.Errors != 0 {
			t.Errorf("time window %d: count %d, errors %d; want one OK call", i, w.Count, w.Errors)
		}
	}
}

// BenchmarkSummaryStriped is Summary over 1,000 rows, the 16 busiest of
// them striped 8 ways (maxStripedRows, maxStripes): what reading adds for
// striped rows, each read by adding up its bodies.
func BenchmarkSummaryStriped(b *testing.B) {
	for _, striped := range []int{0, maxStripedRows} {
		b.Run(fmt.Sprintf("striped=%d", striped), func(b *testing.B) {
			sp, _ := youngRows(1000)
			prev := runtime.GOMAXPROCS(maxStripes)
			for _, r := range sp.rows.sortedRows()[:striped] {
				sp.rows.stripe(r)
				if len(r.bodies()) != maxStripes {
					b.Fatalf("row has %d bodies; want %d", len(r.bodies()), maxStripes)
				}
			}
			runtime.GOMAXPROCS(prev)
			b.ReportAllocs()
			for b.Loop() {
				sp.Summary()
			}
		})
	}
}
