package debugz

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// BenchmarkSourceSummary measures what the pages pay for a summary of 1,000
// methods before rendering it: the processor's Summary and its conversion
// to the pages' rows (redacted names, codes as a list), since start and with
// the time windows.
func BenchmarkSourceSummary(b *testing.B) {
	const methods = 1000
	sp := NewSpanProcessor(WithMaxMethods(2 * methods))
	now := time.Now()
	for i := range 4 * methods {
		service, method := fmt.Sprintf("shop.Service%d", i%methods/10), fmt.Sprintf("Method%d", i%10)
		sp.OnEnd(stub{name: service + "/" + method, kind: trace.SpanKindServer, dur: time.Duration(100+i*7919%50_000) * time.Microsecond,
			end: now.Add(-time.Duration(i) * time.Millisecond),
			attrs: []attribute.KeyValue{attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", service),
				attribute.String("rpc.method", method), attribute.Int64("rpc.grpc.status_code", int64(i%7%6))}}.snapshot())
	}
	cfg := newHandlerConfig(nil)
	src := newSource(sp, &cfg)
	for _, windows := range []bool{false, true} {
		b.Run(fmt.Sprintf("methods=%d/windows=%v", methods, windows), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if s := src.Summary(windows); len(s.Methods) != methods {
					b.Fatalf("%d rows; want %d", len(s.Methods), methods)
				}
			}
		})
	}
}
