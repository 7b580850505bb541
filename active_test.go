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
