package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/debugz/debugz"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// BenchmarkSummary measures the summary query with 50 and 1,000 methods,
// each row holding four spans.
func BenchmarkSummary(b *testing.B) {
	for _, methods := range []int{50, 1000} {
		b.Run(fmt.Sprintf("methods=%d", methods), func(b *testing.B) {
			sp := debugz.NewSpanProcessor(debugz.WithMaxMethods(2 * methods))
			defer shutdown(b, sp)
			for _, p := range makePairs(b, 4*methods, manyMethods(methods)...) {
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

// BenchmarkSummaryBusy measures the summary with 1,000 busy methods: each
// with 60 calls of many latencies, one every 10 seconds over the last 10
// minutes, so that every row's last minute, last 10 minutes and latency now
// are all current and its histogram holds dozens of buckets.
func BenchmarkSummaryBusy(b *testing.B) {
	const methods, calls = 1000, 60
	sp := debugz.NewSpanProcessor(debugz.WithMaxMethods(2 * methods))
	defer shutdown(b, sp)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(rec))
	defer stopProvider(b, tp)
	tr := tp.Tracer(otelgrpcScope)
	ms := manyMethods(methods)
	now := time.Now()
	for i := range methods * calls {
		end := now.Add(-time.Duration(calls-i/methods) * 10 * time.Second)
		serveSpan(context.Background(), tr, &ms[i%methods], i, end.Add(-time.Duration(100+i*7919%500_000)*time.Microsecond), end)
	}
	for _, s := range rec.Ended() {
		sp.OnEnd(s)
	}
	b.Run(fmt.Sprintf("methods=%d", methods), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if s := sp.Summary(); len(s.Methods) != methods || s.Methods[0].Last1m.Count == 0 || s.Methods[0].Recent.Count == 0 {
				b.Fatalf("Summary has %d rows, the first with %d calls in the last minute; want %d, some", len(s.Methods), s.Methods[0].Last1m.Count, methods)
			}
		}
	})
}

// BenchmarkSummaryPage measures what a user pays per render of the summary
// with 1,000 methods, through the handler: /api/summary, the page (since
// start and over the last minute) and the live fragment, each the
// summary, its conversion to the pages' rows and the rendering.
func BenchmarkSummaryPage(b *testing.B) {
	const methods = 1000
	sp := debugz.NewSpanProcessor(debugz.WithMaxMethods(2 * methods))
	defer shutdown(b, sp)
	for _, p := range makePairs(b, 4*methods, manyMethods(methods)...) {
		sp.OnEnd(p.end)
	}
	h := debugz.NewHandler(sp)
	for _, bc := range []struct{ name, path string }{
		{"api", "/api/summary"},
		{"page", "/"},
		{"page/window=1m", "/?window=1m"},
	} {
		b.Run(fmt.Sprintf("%s/methods=%d", bc.name, methods), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", "http://localhost"+bc.path, nil)
				req.RemoteAddr = "127.0.0.1:1"
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "shop.Service99/Method9") {
					b.Fatalf("GET %s = %d, %d bytes without the last method", bc.path, rec.Code, rec.Body.Len())
				}
			}
		})
	}
}

// BenchmarkQueries measures the queries a page makes, with the rings full
// and every row's reservoirs filled: their cost should follow what they
// return, not what is retained.
func BenchmarkQueries(b *testing.B) {
	sp := debugz.NewSpanProcessor()
	defer shutdown(b, sp)
	ms := manyMethods(50)
	pairs := makePairs(b, 20_000, ms...)
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
			if n := len(sp.Spans(debugz.Filter{Limit: 100})); n != 100 {
				b.Fatalf("Spans(limit 100) = %d spans", n)
			}
		}
	})
	b.Run("Spans/rare-method", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sp.Spans(debugz.Filter{Method: ms[7].name, Limit: 100})
		}
	})
}

// BenchmarkLogRecord measures a log record written inside an RPC: through
// slog's text handler alone (writing to io.Discard), as a service logs
// without debugz, and wrapped by SpanProcessor.LogHandler, which also keeps
// it with the RPC (the first and last 8 of a span: past 16 records, each
// new one replaces one in place); then through LogHandler alone (over
// slog.DiscardHandler), plain, from a grouped logger and with an error
// attribute.
func BenchmarkLogRecord(b *testing.B) {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	defer stopProvider(b, tp)
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
	alone := slog.New(sp.LogHandler(slog.DiscardHandler))
	grouped := alone.WithGroup("req") // made once, as a service does
	err := fmt.Errorf("charge: %w", errors.New("card declined"))
	for _, bc := range []struct {
		name string
		log  func()
	}{
		{"debugz", func() { alone.InfoContext(ctx, "user looked up", "user.id", 42, "cache", "hit") }},
		{"debugz/grouped", func() { grouped.InfoContext(ctx, "user looked up", "user.id", 42, "cache", "hit") }},
		{"debugz/error", func() { alone.ErrorContext(ctx, "charge failed", "err", err) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.log()
			}
		})
	}
}

// BenchmarkRecordAll is the price of seeing every span: a span's lifecycle
// with a 10% ratio sampler, plain and wrapped, with debugz registered.
func BenchmarkRecordAll(b *testing.B) {
	for _, bc := range []struct {
		name    string
		sampler sdktrace.Sampler
	}{
		{"ratio", sdktrace.TraceIDRatioBased(0.1)},
		{"RecordAll(ratio)", debugz.RecordAll(sdktrace.TraceIDRatioBased(0.1))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(bc.sampler), sdktrace.WithSpanProcessor(debugz.NewSpanProcessor()))
			defer stopProvider(b, tp)
			tr := tp.Tracer("bench")
			b.ReportAllocs()
			for b.Loop() {
				_, s := tr.Start(context.Background(), "bench.Service/Method")
				s.End()
			}
		})
	}
}
