package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/debugz/debugz"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// BenchmarkRetainedSpanBytes measures what debugz's default capacity costs:
// the heap a processor holds once its ring and reservoirs are full (ring
// slots, rows, indexes and the spans themselves), divided by the spans it
// retains, reported as bytes/span. "otelgrpc" are otelgrpc server spans of
// 50 methods (serveSpan: five attributes, two message events); "maximal"
// spans of 300 attributes of 32-byte values (30 KiB), each kept as a
// truncated copy at the default 16 KiB cap. Each iteration fills a new processor; run it with
// -benchtime 1x.
func BenchmarkRetainedSpanBytes(b *testing.B) {
	for _, bc := range []struct {
		name string
		span func(tr trace.Tracer, m *rpcMethod, i int)
	}{
		{"otelgrpc", func(tr trace.Tracer, m *rpcMethod, i int) {
			serveSpan(context.Background(), tr, m, i, time.Time{}, time.Time{})
		}},
		{"maximal", func(tr trace.Tracer, m *rpcMethod, i int) {
			kvs := make([]attribute.KeyValue, 300)
			for j := range kvs {
				kvs[j] = attribute.String(fmt.Sprintf("attr.%d", j), fmt.Sprintf("%032d", i+j))
			}
			_, s := tr.Start(context.Background(), m.name, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("rpc.system", "grpc")))
			s.SetAttributes(kvs...)
			s.End()
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ms := manyMethods(50)
			for b.Loop() {
				before := heapAlloc()
				sp := debugz.NewSpanProcessor()
				tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithRawSpanLimits(sdktrace.SpanLimits{
					AttributeValueLengthLimit: -1, AttributeCountLimit: -1, EventCountLimit: -1, LinkCountLimit: -1,
					AttributePerEventCountLimit: -1, AttributePerLinkCountLimit: -1,
				}))
				tr := tp.Tracer(otelgrpcScope)
				for i := range 2 * capacity {
					bc.span(tr, &ms[i%len(ms)], i)
				}
				retained := len(sp.Spans(debugz.Filter{}))
				grown := heapAlloc() - before
				b.ReportMetric(float64(grown)/float64(retained), "bytes/span")
				b.ReportMetric(float64(retained), "spans")
				b.ReportMetric(float64(grown)/(1<<20), "MiB")
				runtime.KeepAlive(tp)
			}
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
