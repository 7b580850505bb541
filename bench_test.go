package debugz

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// spanPair is a started span for OnStart and its finished snapshot for OnEnd,
// shaped like an otelgrpc ≥ v0.67 unary server span.
type spanPair struct {
	start sdktrace.ReadWriteSpan
	end   sdktrace.ReadOnlySpan
}

func makePairs(b *testing.B, n, methods int) []spanPair {
	tp := sdktrace.NewTracerProvider() // no processors: spans record, nothing else runs
	tr := tp.Tracer(otelgrpcScope)
	pairs := make([]spanPair, n)
	for i := range pairs {
		method := fmt.Sprintf("bench.Service/Method%d", i%methods)
		_, s := tr.Start(context.Background(), method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("rpc.method", method), attribute.String("rpc.system.name", "grpc")))
		s.SetAttributes(attribute.String("server.address", "127.0.0.1"), attribute.Int("server.port", 50051),
			attribute.String("network.peer.address", "127.0.0.1"), attribute.Int("network.peer.port", 40000+i%1000))
		code := "OK"
		if i%50 == 0 {
			code = "NOT_FOUND"
		}
		s.SetAttributes(attribute.String("rpc.response.status_code", code))
		s.End()
		stub := tracetest.SpanStubFromReadOnlySpan(s.(sdktrace.ReadOnlySpan))
		stub.EndTime = stub.StartTime.Add(time.Duration(50+i%5000) * time.Microsecond)
		pairs[i] = spanPair{start: s.(sdktrace.ReadWriteSpan), end: stub.Snapshot()}
	}
	return pairs
}

// BenchmarkSpanProcessor_OnEnd measures OnStart+OnEnd of one gRPC span, the
// processor's whole cost per RPC span.
func BenchmarkSpanProcessor_OnEnd(b *testing.B) {
	pairs := makePairs(b, 64, 20)
	sp := NewSpanProcessor()
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			p := &pairs[i%len(pairs)]
			sp.OnStart(ctx, p.start)
			sp.OnEnd(p.end)
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1) * 1000)
			for pb.Next() {
				p := &pairs[i%len(pairs)]
				sp.OnStart(ctx, p.start)
				sp.OnEnd(p.end)
				i++
			}
		})
	})
}

// mutexRing is the baseline: the least a processor that keeps spans can do.
type mutexRing struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
	next  int
}

func (r *mutexRing) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (r *mutexRing) OnEnd(s sdktrace.ReadOnlySpan) {
	r.mu.Lock()
	r.spans[r.next%len(r.spans)] = s
	r.next++
	r.mu.Unlock()
}
func (r *mutexRing) Shutdown(context.Context) error   { return nil }
func (r *mutexRing) ForceFlush(context.Context) error { return nil }

// BenchmarkSpanLifecycle runs a whole otelgrpc-shaped span through the SDK
// (start, attributes, end) with debugz registered, and with a bare mutex ring
// of the same capacity, so the two can be compared with benchstat.
func BenchmarkSpanLifecycle(b *testing.B) {
	for _, bc := range []struct {
		name string
		sp   sdktrace.SpanProcessor
	}{
		{"debugz", NewSpanProcessor()},
		{"mutexRing", &mutexRing{spans: make([]sdktrace.ReadOnlySpan, defaultMaxSpans)}},
	} {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(bc.sp))
		tr := tp.Tracer(otelgrpcScope)
		ctx := context.Background()
		methods := make([]string, 20)
		for i := range methods {
			methods[i] = fmt.Sprintf("bench.Service/Method%d", i)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					m := methods[i%len(methods)]
					_, s := tr.Start(ctx, m, trace.WithSpanKind(trace.SpanKindServer),
						trace.WithAttributes(attribute.String("rpc.method", m), attribute.String("rpc.system.name", "grpc")))
					s.SetAttributes(attribute.String("server.address", "127.0.0.1"), attribute.Int("server.port", 50051))
					s.SetAttributes(attribute.String("rpc.response.status_code", "OK"))
					s.End()
					i++
				}
			})
		})
	}
}

func BenchmarkSummary(b *testing.B) {
	for _, methods := range []int{50, 1000} {
		b.Run(fmt.Sprintf("methods=%d", methods), func(b *testing.B) {
			sp := NewSpanProcessor(WithMaxMethods(2 * methods))
			for _, p := range makePairs(b, 4*methods, methods) {
				sp.OnEnd(p.end)
			}
			b.ReportAllocs()
			for b.Loop() {
				if s := sp.Summary(); len(s.Methods) != methods {
					b.Fatalf("Summary has %d rows; want %d", len(s.Methods), methods)
				}
			}
		})
	}
}

// BenchmarkQueries measures the queries a page makes, with the rings full
// and every row's reservoirs filled: their cost should follow what they
// return, not what is retained.
func BenchmarkQueries(b *testing.B) {
	sp := NewSpanProcessor()
	pairs := makePairs(b, 20_000, 50)
	for i := range pairs {
		sp.OnEnd(pairs[i].end)
	}
	newest := pairs[len(pairs)-1].end.SpanContext()
	old := pairs[100].end.SpanContext() // only in a reservoir by now, if kept at all
	b.Run("Span/newest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := sp.Span(newest.SpanID()); !ok {
				b.Fatal("newest span not found")
			}
		}
	})
	b.Run("Span/missing", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sp.Span(trace.SpanID{1})
		}
	})
	b.Run("Trace", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sp.Trace(old.TraceID())
		}
	})
	b.Run("Spans/limit=100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if n := len(sp.Spans(Filter{Limit: 100})); n != 100 {
				b.Fatalf("Spans(limit 100) = %d spans", n)
			}
		}
	})
	b.Run("Spans/rare-method", func(b *testing.B) {
		m := "bench.Service/Method7"
		b.ReportAllocs()
		for b.Loop() {
			sp.Spans(Filter{Method: m, Limit: 100})
		}
	})
}

// BenchmarkLogRecord measures a log record written inside an RPC: through
// slog's text handler alone (writing to io.Discard), as a service logs
// without debugz, and wrapped by SpanProcessor.LogHandler, which also keeps
// it with the RPC (the first and last 8 of a span: past 16 records, each
// new one replaces one in place).
func BenchmarkLogRecord(b *testing.B) {
	sp := NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, span := tp.Tracer("bench").Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	for _, bc := range []struct {
		name string
		log  *slog.Logger
	}{
		{"slog", slog.New(slog.NewTextHandler(io.Discard, nil))},
		{"slog+debugz", slog.New(sp.LogHandler(slog.NewTextHandler(io.Discard, nil)))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.log.InfoContext(ctx, "user looked up", "user.id", 42, "cache", "hit")
			}
		})
	}
}

// BenchmarkOnStartOnEndChild measures what a handler's own span (neither
// server nor client) costs the processor, under an RPC: without a
// LogHandler, nothing but the kind check; with one, noting it under its
// RPC in the child table and forgetting it at its end.
func BenchmarkOnStartOnEndChild(b *testing.B) {
	for _, bc := range []struct {
		name string
		logs bool
	}{{"nologs", false}, {"loghandler", true}} {
		b.Run(bc.name, func(b *testing.B) {
			sp := NewSpanProcessor()
			if bc.logs {
				sp.LogHandler(slog.NewTextHandler(io.Discard, nil))
			}
			tp := sdktrace.NewTracerProvider() // spans made beforehand, without the processor
			ctx, rpc := tp.Tracer("b").Start(context.Background(), "a.S/M", trace.WithSpanKind(trace.SpanKindServer))
			sp.OnStart(context.Background(), rpc.(sdktrace.ReadWriteSpan))
			ctx, child := tp.Tracer("b").Start(ctx, "child")
			sp.OnStart(ctx, child.(sdktrace.ReadWriteSpan))
			spans := make([]sdktrace.ReadWriteSpan, 1024)
			for i := range spans {
				_, s := tp.Tracer("b").Start(ctx, "grandchild")
				s.End()
				spans[i] = s.(sdktrace.ReadWriteSpan)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s := spans[i%len(spans)]
				sp.OnStart(ctx, s)
				sp.OnEnd(s)
				i++
			}
		})
	}
}
