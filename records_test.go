package debugz

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestLookupsByIndex: Span, Trace and Spans of a method, which read the
// rings' chains and the rows' reservoir indexes, find exactly what a scan
// of every retained record finds, after the rings and the reservoirs have
// overwritten most of what they held (so entries were removed as well as
// added), with error codes (a code's reservoir, made later, regrows a row's
// index), spans of several traces and non-gRPC spans.
func TestLookupsByIndex(t *testing.T) {
	sp := NewSpanProcessor(WithMaxSpans(32), WithMaxOtherSpans(8), WithMaxSpansPerBucket(2))
	methods := []string{"a.S/One", "a.S/Two", "b.T/Three"}
	var traces []trace.TraceID
	var ids []trace.SpanID
	durs := []time.Duration{50 * time.Microsecond, 500 * time.Microsecond, 5 * time.Millisecond, 50 * time.Millisecond, 2 * time.Second}
	for i := range 600 {
		tid, _ := nextIDs()
		if i%3 != 0 {
			tid = traces[len(traces)-1] // three spans a trace
		} else {
			traces = append(traces, tid)
		}
		code := "OK"
		if i%7 == 0 {
			code = []string{"NOT_FOUND", "INTERNAL", "UNAVAILABLE", "ABORTED"}[i/7%4]
		}
		dur := durs[i*7%len(durs)]
		if i > 300 {
			dur = durs[1] // the other buckets' reservoirs keep what the ring has overwritten
		}
		s := stub{name: methods[i%len(methods)], kind: trace.SpanKindServer, dur: dur, trace: tid,
			attrs: []attribute.KeyValue{attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.response.status_code", code)}}
		if i%5 == 4 {
			s = stub{name: "db.query", kind: trace.SpanKindInternal, dur: time.Millisecond, trace: tid}
		}
		span := s.snapshot()
		ids = append(ids, span.SpanContext().SpanID())
		sp.OnEnd(span)
	}

	// What a scan of every record finds: the rings, then the reservoirs'
	// records the recent ring no longer holds.
	bySpan := map[trace.SpanID]record{}
	byTrace := map[trace.TraceID][]trace.SpanID{}
	keep := func(r *record) {
		if _, ok := bySpan[r.spanID]; !ok {
			bySpan[r.spanID] = *r
			byTrace[r.traceID] = append(byTrace[r.traceID], r.spanID)
		}
	}
	for _, ring := range []*recordRing{sp.recent, sp.other} {
		for _, r := range ring.Newest() {
			keep(&r)
		}
	}
	evicted := sp.recent.Overwritten()
	for _, row := range sp.rows.all() {
		row.eachRecord(func(r *record) {
			if r.seq <= evicted {
				keep(r)
			}
		})
	}
	if len(bySpan) <= 32+8+30 {
		t.Fatalf("%d spans retained; want the reservoirs to hold some the rings do not", len(bySpan))
	}

	for _, id := range ids {
		got, ok := sp.Span(id)
		want, retained := bySpan[id]
		if ok != retained || ok && (got.SpanID != id || got.Method != want.method) {
			t.Errorf("Span(%v) = %v %q, found %v; want found %v (%q)", id, got.SpanID, got.Method, ok, retained, want.method)
		}
	}
	if _, ok := sp.Span(trace.SpanID{1}); ok {
		t.Error("Span(unknown ID) found a span")
	}
	for _, tid := range traces {
		var got []trace.SpanID
		for _, s := range sp.Trace(tid) {
			got = append(got, s.SpanID)
		}
		want := byTrace[tid]
		slices.SortFunc(got, func(a, b trace.SpanID) int { return slices.Compare(a[:], b[:]) })
		slices.SortFunc(want, func(a, b trace.SpanID) int { return slices.Compare(a[:], b[:]) })
		if !slices.Equal(got, want) {
			t.Errorf("Trace(%v) = %v; want %v", tid, got, want)
		}
	}

	// A method's spans, by its rows' chains, are the method's spans of all.
	all := sp.Spans(Filter{})
	for _, m := range append(methods, "S/", "three") {
		for _, limit := range []int{0, 3} {
			var want []string
			for _, s := range all {
				if methodMatch(m, s.Method) && (limit == 0 || len(want) < limit) {
					want = append(want, fmt.Sprint(s.SpanID))
				}
			}
			var got []string
			for _, s := range sp.Spans(Filter{Method: m, Limit: limit}) {
				got = append(got, fmt.Sprint(s.SpanID))
			}
			if !slices.Equal(got, want) {
				t.Errorf("Spans(method %q, limit %d) = %v; want %v", m, limit, got, want)
			}
		}
	}
}

// TestLookupsInvalidIDs: spans without valid IDs (a test's stubs) pass
// through the rings and reservoirs, many times over, without filling the
// reservoirs' index (whose insert would then never end).
func TestLookupsInvalidIDs(t *testing.T) {
	sp := NewSpanProcessor(WithMaxSpans(8), WithMaxSpansPerBucket(2))
	for range 1000 {
		sp.OnEnd(tracetest.SpanStub{Name: "a.S/M", SpanKind: trace.SpanKindServer,
			Attributes: []attribute.KeyValue{attribute.String("rpc.system", "grpc")}}.Snapshot())
	}
	if n := len(sp.Spans(Filter{Method: "a.S/M"})); n == 0 {
		t.Error("Spans(a.S/M) found none of the spans without IDs")
	}
}

// TestLookupsConcurrent: spans of one trace and one method ended at once on
// several goroutines, which claim push numbers in one order and swap the
// chains' heads (or take the row's lock) in another, are all found.
func TestLookupsConcurrent(t *testing.T) {
	const workers, calls = 4, 300
	sp := NewSpanProcessor(WithMaxSpans(workers * calls))
	traces := make([]trace.TraceID, calls)
	for i := range traces {
		traces[i], _ = nextIDs()
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range calls {
				sp.OnEnd(stub{name: "a.S/M", kind: trace.SpanKindServer, trace: traces[i],
					attrs: []attribute.KeyValue{attribute.String("rpc.system", "grpc")}}.snapshot())
			}
		})
	}
	wg.Wait()
	for _, tid := range traces {
		if n := len(sp.Trace(tid)); n != workers {
			t.Errorf("Trace(%v) has %d spans; want %d", tid, n, workers)
		}
	}
	if n := len(sp.Spans(Filter{Method: "a.S/M"})); n != workers*calls {
		t.Errorf("Spans(a.S/M) = %d spans; want %d", n, workers*calls)
	}
}
