package debugz

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TestHeapPerRetainedSpan: spans of hostile shapes, made by the SDK with its
// limits off, grow the heap by at most 1.25× the byte cap per retained span:
// the cap counts what a retained span really holds (the SDK's structs, not a
// guess at them), and a truncated copy holds no spare capacity. It measures
// the live heap (HeapAlloc after a GC): HeapInuse also counts the pages
// that the test's own garbage, the hostile spans dropped, leaves part-used.
func TestHeapPerRetainedSpan(t *testing.T) {
	const spans = 64 // all retained: fewer than the ring holds
	value := strings.Repeat("v", 32)
	tests := []struct {
		name string
		add  func(s trace.Span, i int)
	}{
		{"10,000 attributes", func(s trace.Span, i int) {
			kvs := make([]attribute.KeyValue, 10_000)
			for j := range kvs {
				kvs[j] = attribute.Int(fmt.Sprintf("attr.%d", j), i+j)
			}
			s.SetAttributes(kvs...)
		}},
		{"128 events of 8 attributes", func(s trace.Span, i int) {
			for j := range 128 {
				kvs := make([]attribute.KeyValue, 8)
				for k := range kvs {
					kvs[k] = attribute.String(fmt.Sprintf("event.attr.%d", k), value+fmt.Sprint(i+j))
				}
				s.AddEvent("event", trace.WithAttributes(kvs...))
			}
		}},
		{"1,300 small attributes", func(s trace.Span, i int) {
			kvs := make([]attribute.KeyValue, 1300)
			for j := range kvs {
				kvs[j] = attribute.Bool(fmt.Sprintf("k%d", j), j%2 == 0)
			}
			s.SetAttributes(kvs...)
		}},
		{"1,300 attributes of one key", func(s trace.Span, i int) { // the SDK keeps one, in an array of 1,300
			kvs := make([]attribute.KeyValue, 1300)
			for j := range kvs {
				kvs[j] = attribute.Bool("k", j%2 == 0)
			}
			s.SetAttributes(kvs...)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := NewSpanProcessor(WithMaxSpans(2 * spans))
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithRawSpanLimits(sdktrace.SpanLimits{
				AttributeValueLengthLimit: -1, AttributeCountLimit: -1, EventCountLimit: -1, LinkCountLimit: -1,
				AttributePerEventCountLimit: -1, AttributePerLinkCountLimit: -1,
			}))
			defer func() { _ = tp.Shutdown(context.Background()) }()
			tr := tp.Tracer(otelgrpcScope)
			call := func(i int, add func(trace.Span, int)) {
				_, s := tr.Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer),
					trace.WithAttributes(attribute.String("rpc.system", "grpc")))
				if add != nil {
					add(s, i)
				}
				s.End()
			}
			call(0, nil) // the row and its reservoirs, made once
			before := heapAlloc()
			for i := range spans {
				call(i, tt.add)
			}
			grown := heapAlloc() - before
			per := grown / spans
			t.Logf("%s: %d bytes per retained span (cap %d)", tt.name, per, defaultMaxSpanBytes)
			if limit := uint64(defaultMaxSpanBytes) * 5 / 4; per > limit {
				t.Errorf("%d spans of %s grew the heap by %d bytes per span; want at most %d (1.25× the cap)", spans, tt.name, per, limit)
			}
			if n := len(sp.Spans(Filter{})); n != spans+1 {
				t.Errorf("retained %d spans; want %d", n, spans+1)
			}
			runtime.KeepAlive(sp)
		})
	}
}

// heapAlloc returns the bytes of live heap objects, after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
