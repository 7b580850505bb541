package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// otelgrpcScope is the instrumentation scope of otelgrpc's tracer.
const otelgrpcScope = semconv.OtelgrpcScope

// notFoundEvery is how often a call fails: one in 10 ends with NOT_FOUND.
const notFoundEvery = 10

// rpcMethod is the name and the rpc.service and rpc.method attributes that an
// old-semconv otelgrpc server span of one method carries.
type rpcMethod struct {
	name, service, method string
}

// fetchUser is the typical span: its name is rpc.service + "/" + rpc.method.
var fetchUser = rpcMethod{name: "user.UserService/FetchUser", service: "user.UserService", method: "FetchUser"}

// fetchUserSlash has a name that rpc.service and rpc.method do not spell, so
// a processor that wants "service/method" has to build it.
var fetchUserSlash = rpcMethod{name: "/user.UserService/FetchUser", service: "user.UserService", method: "FetchUser"}

// manyMethods returns n methods spread over services of 10 methods each.
func manyMethods(n int) []rpcMethod {
	ms := make([]rpcMethod, n)
	for i := range ms {
		svc, m := fmt.Sprintf("shop.Service%d", i/10), fmt.Sprintf("Method%d", i%10)
		ms[i] = rpcMethod{name: svc + "/" + m, service: svc, method: m}
	}
	return ms
}

// statusCode is the gRPC code that call i ends with.
func statusCode(i int) codes.Code {
	if i%notFoundEvery == notFoundEvery-1 {
		return codes.NotFound
	}
	return codes.OK
}

// serveSpan runs call i of m through tr the way otelgrpc's server handler did
// before its semantic conventions changed (v0.46): a server span started with
// the RPC and peer attributes, a "message" event for the request received and
// one for the response sent, the status code set at the end. It builds its
// attributes per call, as otelgrpc does. When start and end are zero the
// SDK's clock times the span.
func serveSpan(ctx context.Context, tr trace.Tracer, m *rpcMethod, i int, start, end time.Time) {
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("rpc.system", "grpc"),
			attribute.String("rpc.service", m.service),
			attribute.String("rpc.method", m.method),
			attribute.String("net.peer.ip", "10.1.2.3"),
			attribute.Int("net.peer.port", 40000+i%20000),
		),
	}
	if !start.IsZero() {
		opts = append(opts, trace.WithTimestamp(start))
	}
	_, s := tr.Start(ctx, m.name, opts...)
	s.AddEvent("message", trace.WithAttributes(
		attribute.String("message.type", "RECEIVED"),
		attribute.Int("message.id", 1),
		attribute.Int("message.uncompressed_size", 40+i%64),
	))
	s.AddEvent("message", trace.WithAttributes(
		attribute.String("message.type", "SENT"),
		attribute.Int("message.id", 1),
		attribute.Int("message.uncompressed_size", 200+i%512),
	))
	s.SetAttributes(attribute.Int64("rpc.grpc.status_code", int64(statusCode(i))))
	if end.IsZero() {
		s.End()
	} else {
		s.End(trace.WithTimestamp(end))
	}
}

// serveCurrentSpan runs call i of m through tr the way otelgrpc's server
// handler does by default from v0.61 on (checked against v0.72): rpc.method
// holds the full method, rpc.system.name says grpc, server.address and
// server.port come with the request's headers, rpc.response.status_code is
// the code's name, and there are no message events.
func serveCurrentSpan(ctx context.Context, tr trace.Tracer, m *rpcMethod, i int, start, end time.Time) {
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("rpc.method", m.name),
			attribute.String("rpc.system.name", "grpc"),
		),
	}
	if !start.IsZero() {
		opts = append(opts, trace.WithTimestamp(start))
	}
	_, s := tr.Start(ctx, m.name, opts...)
	s.SetAttributes(attribute.String("server.address", "10.1.2.3"), attribute.Int("server.port", 8443))
	c := statusCode(i)
	if c != codes.OK {
		s.SetStatus(otelcodes.Error, "user not found")
	}
	s.SetAttributes(attribute.String("rpc.response.status_code", codeName(c)))
	if end.IsZero() {
		s.End()
	} else {
		s.End(trace.WithTimestamp(end))
	}
}

// codeName is a code's canonical name, as otelgrpc writes it.
func codeName(c codes.Code) string {
	if c == codes.NotFound {
		return "NOT_FOUND"
	}
	return "OK"
}

// spanPair is one span as a processor sees it: the live span that OnStart
// receives and the read-only snapshot that OnEnd receives.
type spanPair struct {
	start sdktrace.ReadWriteSpan
	end   sdktrace.ReadOnlySpan
}

// makePairs ends n calls of ms, in turn, through the SDK into a span
// recorder and returns what the recorder received, so that a benchmark can
// hand the very same values to a processor and time nothing else. Latencies
// spread from 100µs to about 50ms, with a slow call now and then, so that
// processors that bucket by latency use their buckets.
func makePairs(b testing.TB, n int, ms ...rpcMethod) []spanPair {
	b.Helper()
	return makePairsOf(b, serveSpan, n, ms...)
}

// makePairsOf is makePairs with the calls made by serve.
func makePairsOf(b testing.TB, serve func(context.Context, trace.Tracer, *rpcMethod, int, time.Time, time.Time), n int, ms ...rpcMethod) []spanPair {
	b.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := tp.Tracer(otelgrpcScope)
	t0 := time.Now().Add(-time.Minute)
	for i := range n {
		d := time.Duration(100+(i*7919)%50_000) * time.Microsecond
		if i%97 == 0 {
			d = 2*time.Second + d
		}
		start := t0.Add(time.Duration(i) * time.Millisecond)
		serve(context.Background(), tr, &ms[i%len(ms)], i, start, start.Add(d))
	}
	started, ended := rec.Started(), rec.Ended()
	if len(started) != n || len(ended) != n {
		b.Fatalf("recorder has %d started and %d ended spans; want %d of each", len(started), len(ended), n)
	}
	pairs := make([]spanPair, n)
	for i := range pairs {
		if !started[i].SpanContext().Equal(ended[i].SpanContext()) {
			b.Fatalf("span %d: started %v, ended %v", i, started[i].SpanContext(), ended[i].SpanContext())
		}
		pairs[i] = spanPair{start: started[i], end: ended[i]}
	}
	return pairs
}

// TestSpanShapesCounted checks that the benchmarks' spans are what debugz
// counts in full: one server row of the method, its codes, and the message
// events of the old shape.
func TestSpanShapesCounted(t *testing.T) {
	for _, c := range []struct {
		name     string
		serve    func(context.Context, trace.Tracer, *rpcMethod, int, time.Time, time.Time)
		messages uint64
	}{{"old", serveSpan, 100}, {"current", serveCurrentSpan, 0}} {
		t.Run(c.name, func(t *testing.T) {
			sp := debugz.NewSpanProcessor()
			for _, p := range makePairsOf(t, c.serve, 100, fetchUser) {
				sp.OnStart(context.Background(), p.start)
				sp.OnEnd(p.end)
			}
			ms := sp.Summary().Methods
			if len(ms) != 1 {
				t.Fatalf("Summary has %d rows; want 1: %+v", len(ms), ms)
			}
			m := ms[0]
			if m.Method != fetchUser.name || m.Kind != trace.SpanKindServer || m.Count != 100 ||
				m.Codes[codes.NotFound] != 100/notFoundEvery || m.Errors != 100/notFoundEvery || m.MessageCalls != c.messages {
				t.Errorf("row %s %v: %d calls, %d NOT_FOUND, %d errors, %d with messages; want %s server: 100, %d, %d, %d",
					m.Method, m.Kind, m.Count, m.Codes[codes.NotFound], m.Errors, m.MessageCalls,
					fetchUser.name, 100/notFoundEvery, 100/notFoundEvery, c.messages)
			}
		})
	}
}
