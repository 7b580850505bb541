package debugz

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// BenchmarkActiveTableFull adds spans to a table whose shards are full, as a
// flood of calls that never end leaves it (the default 10,000 in flight):
// each add evicts its shard's oldest span.
func BenchmarkActiveTableFull(b *testing.B) {
	tr := sdktrace.NewTracerProvider().Tracer("b")
	spans := make([]sdktrace.ReadWriteSpan, 4*defaultMaxActive)
	for i := range spans {
		_, s := tr.Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer))
		spans[i] = s.(sdktrace.ReadWriteSpan)
	}
	var table activeTable
	table.init(defaultMaxActive)
	for _, s := range spans[:defaultMaxActive*2] {
		table.add(activeKey(s.SpanContext()), s)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		s := spans[i%len(spans)]
		table.add(activeKey(s.SpanContext()), s)
	}
}

// TestInFlightReadShared: with more calls in flight than the views list,
// one read serves every viewer for inFlightReuse (a call that starts
// meanwhile shows after it); with fewer, each read is fresh.
func TestInFlightReadShared(t *testing.T) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := tp.Tracer("t")
	start := func(n int) {
		for range n {
			_, _ = tr.Start(context.Background(), "a.S/Parked", trace.WithSpanKind(trace.SpanKindServer))
		}
	}
	src := &source{sp: sp}
	start(3)
	if _, total := src.Active(10); total != 3 {
		t.Fatalf("Active(10) total = %d; want 3", total)
	}
	start(1)
	if calls, total := src.Active(10); total != 4 || len(calls) != 4 {
		t.Errorf("with few in flight, a call that just started: Active(10) = %d of %d; want 4 of 4, read afresh", len(calls), total)
	}
	start(20)
	calls, total := src.Active(10)
	if total != 24 || len(calls) != 10 {
		t.Fatalf("Active(10) = %d of %d; want the oldest 10 of 24", len(calls), total)
	}
	start(1)
	if _, total := src.Active(10); total != 24 {
		t.Errorf("with many in flight, Active(10) right after a read = total %d; want the shared read's 24", total)
	}
	src.inFlight.at = src.inFlight.at.Add(-inFlightReuse)
	if _, total := src.Active(10); total != 25 {
		t.Errorf("Active(10) a second later = total %d; want 25, read afresh", total)
	}
}

// TestActiveByID: the one-probe lookup a running call's page makes agrees
// with Active, and finds no ended call, no span that is not a gRPC call and
// no unknown ID.
func TestActiveByID(t *testing.T) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := tp.Tracer("t")
	for range 5 {
		_, _ = tr.Start(context.Background(), "a.S/Parked", trace.WithSpanKind(trace.SpanKindServer))
	}
	_, internal := tr.Start(context.Background(), "work", trace.WithSpanKind(trace.SpanKindInternal))
	_, ended := tr.Start(context.Background(), "a.S/Ended", trace.WithSpanKind(trace.SpanKindClient))
	ended.End()
	for _, a := range sp.Active() {
		if got, ok := sp.activeByID(a.SpanID); !ok || got != a {
			t.Errorf("activeByID(%s) = %+v, %v; want %+v", a.SpanID, got, ok, a)
		}
	}
	for name, id := range map[string]trace.SpanID{"internal": internal.SpanContext().SpanID(), "ended": ended.SpanContext().SpanID(), "unknown": {1, 2, 3}} {
		if got, ok := sp.activeByID(id); ok {
			t.Errorf("activeByID of the %s span = %+v; want none", name, got)
		}
	}
}
