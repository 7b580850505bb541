package bench

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	xtrace "golang.org/x/net/trace"
)

// lifecyclePeers are the processors compared in the lifecycle benchmarks:
// noop first, the SDK's own cost, then the processors of the comparison.
var lifecyclePeers = append([]peer{{"noop", func() sdktrace.SpanProcessor { return noopProcessor{} }}}, processors...)

// newTracer registers sp alone on a TracerProvider that samples everything
// and warms it up with enough calls of m to fill its rings. The caller shuts
// the provider down, and with it sp.
func newTracer(sp sdktrace.SpanProcessor, ms []rpcMethod) (*sdktrace.TracerProvider, trace.Tracer) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(sp))
	tr := tp.Tracer(otelgrpcScope)
	for i := range 2 * capacity {
		serveSpan(context.Background(), tr, &ms[i%len(ms)], i, time.Time{}, time.Time{})
	}
	return tp, tr
}

// stopProvider shuts tp and its processor down at the end of a benchmark.
func stopProvider(b *testing.B, tp *sdktrace.TracerProvider) {
	if err := tp.Shutdown(context.Background()); err != nil {
		b.Errorf("TracerProvider.Shutdown() = %v; want nil", err)
	}
}

// The family and title of fetchUser's x/net/trace request traces, as gRPC
// names them.
const (
	fetchUserFamily = "grpc.Recv.user.UserService"
	fetchUserTitle  = "/user.UserService/FetchUser"
)

// xnetTraceCall is the pre-OpenTelemetry equivalent of serveSpan: the request
// trace that gRPC's server made with x/net/trace (grpc.EnableTracing), a line
// for the request and one for the response, an error on a failed call.
func xnetTraceCall(i int) {
	tr := xtrace.New(fetchUserFamily, fetchUserTitle)
	tr.LazyPrintf("recv: %d bytes", 40+i%64)
	tr.LazyPrintf("sent: %d bytes", 200+i%512)
	if c := statusCode(i); c != 0 {
		tr.LazyPrintf("code: %v", c)
		tr.SetError()
	}
	tr.Finish()
}

// BenchmarkSpanLifecycle runs a whole otelgrpc server span through the SDK,
// start to end, with each processor on its own TracerProvider; xnettrace
// makes x/net/trace's request trace of the same call instead.
func BenchmarkSpanLifecycle(b *testing.B) {
	ctx := context.Background()
	ms := []rpcMethod{fetchUser}
	for _, p := range lifecyclePeers {
		b.Run(p.name, func(b *testing.B) {
			tp, tr := newTracer(p.new(), ms)
			defer stopProvider(b, tp)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				serveSpan(ctx, tr, &fetchUser, i, time.Time{}, time.Time{})
				i++
			}
		})
	}
	b.Run("xnettrace", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			xnetTraceCall(i)
			i++
		}
	})
}

// BenchmarkSpanLifecycleParallel is BenchmarkSpanLifecycle with every CPU
// serving calls.
func BenchmarkSpanLifecycleParallel(b *testing.B) {
	ctx := context.Background()
	ms := []rpcMethod{fetchUser}
	for _, p := range lifecyclePeers {
		b.Run(p.name, func(b *testing.B) {
			tp, tr := newTracer(p.new(), ms)
			defer stopProvider(b, tp)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					serveSpan(ctx, tr, &fetchUser, i, time.Time{}, time.Time{})
					i++
				}
			})
		})
	}
	b.Run("xnettrace", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				xnetTraceCall(i)
				i++
			}
		})
	})
}
