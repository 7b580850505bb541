package e2e_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	"github.com/debugz/debugz/internal/rowtest"
	"github.com/debugz/debugz/internal/semconv"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	expotel "google.golang.org/grpc/experimental/opentelemetry"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/stats/opentelemetry"
	"google.golang.org/grpc/status"
)

// retryConfig retries UnaryCall on UNAVAILABLE, up to 4 attempts.
const retryConfig = `{"methodConfig":[{"name":[{"service":"grpc.testing.TestService"}],
	"retryPolicy":{"maxAttempts":4,"initialBackoff":"0.01s","maxBackoff":"0.05s",
	"backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}]}`

// failFirst answers UnaryCall UNAVAILABLE on the first ResponseSize attempts
// of a call (it reads which attempt it is from grpc-previous-rpc-attempts),
// and with the code of ResponseStatus, if any, after.
type failFirst struct{ grpctest.Service }

func (f failFirst) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	before := 0
	if v := md.Get("grpc-previous-rpc-attempts"); len(v) > 0 {
		before, _ = strconv.Atoi(v[0])
	}
	if before < int(req.GetResponseSize()) {
		return nil, status.Errorf(codes.Unavailable, "attempt %d: not yet", before+1)
	}
	req.ResponseSize = 0
	return f.Service.UnaryCall(ctx, req)
}

// retryCall is a call that driveRetries makes.
type retryCall struct {
	name     string
	fails    int32      // attempts the server fails with UNAVAILABLE
	code     codes.Code // what the server answers after them
	want     codes.Code // what the caller sees
	attempts int        // attempts grpc makes
}

var retryCalls = []retryCall{
	{"succeeds on the fourth attempt", 3, codes.OK, codes.OK, 4},
	{"succeeds on the second attempt", 1, codes.OK, codes.OK, 2},
	{"exhausts its four attempts", 10, codes.OK, codes.Unavailable, 4},
	{"fails for good on the second attempt", 1, codes.NotFound, codes.NotFound, 2},
	{"succeeds at once", 0, codes.OK, codes.OK, 1},
	{"fails at once, not retried", 0, codes.NotFound, codes.NotFound, 1},
}

// driveRetries makes retryCalls, each under a caller's span of its own, and
// returns the trace of each, after checking what the caller saw; took is
// how long each call took, as its caller saw it.
func driveRetries(t *testing.T, tp trace.TracerProvider, client testpb.TestServiceClient) (traces []trace.TraceID, took []time.Duration) {
	t.Helper()
	for _, c := range retryCalls {
		req := &testpb.SimpleRequest{ResponseSize: c.fails}
		if c.code != codes.OK {
			req.ResponseStatus = &testpb.EchoStatus{Code: int32(c.code), Message: "no"}
		}
		ctx, span := tp.Tracer("caller").Start(context.Background(), "caller")
		start := time.Now()
		_, err := client.UnaryCall(ctx, req)
		took = append(took, time.Since(start))
		span.End()
		if status.Code(err) != c.want {
			t.Fatalf("call that %s: %v; want %v", c.name, err, c.want)
		}
		traces = append(traces, span.SpanContext().TraceID())
	}
	return traces, took
}

// retryRows are the rows driveRetries leaves: the client's count each call
// once, by the code its caller saw; the server's count each attempt.
func retryRows(serverCodes, clientCodes map[string]uint64) map[rowtest.Key]rowtest.Row {
	method := grpctest.Method + "UnaryCall"
	sum := func(codes map[string]uint64) (n, errs uint64) {
		for c, k := range codes {
			n += k
			if c != "OK" {
				errs += k
			}
		}
		return n, errs
	}
	sn, se := sum(serverCodes)
	cn, ce := sum(clientCodes)
	return map[rowtest.Key]rowtest.Row{
		rowtest.Server(method): {Count: sn, Errors: se, Codes: serverCodes},
		rowtest.Client(method): {Count: cn, Errors: ce, Retried: 4, Codes: clientCodes},
	}
}

// startRetrying serves failFirst with otelgrpc on both sides, wrapped in
// grpcstats.WrapHandler when wrap is set, and returns a client whose
// service config retries UnaryCall.
func startRetrying(t *testing.T, wrap bool) (*debugz.SpanProcessor, *sdktrace.TracerProvider, testpb.TestServiceClient) {
	t.Helper()
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	opts := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{})}
	sh, ch := otelgrpc.NewServerHandler(opts...), otelgrpc.NewClientHandler(opts...)
	if wrap {
		sh, ch = grpcstats.WrapHandler(sh), grpcstats.WrapHandler(ch)
	}
	return sp, tp, retryClient(t, failFirst{}, sh, ch)
}

// retryClient serves srv with the stats handler sh and returns a client with
// the handler ch and retryConfig.
func retryClient(t *testing.T, srv testpb.TestServiceServer, sh, ch stats.Handler, opts ...grpc.DialOption) testpb.TestServiceClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var sopts []grpc.ServerOption
	if sh != nil {
		sopts = append(sopts, grpc.StatsHandler(sh))
	}
	gs := grpc.NewServer(sopts...)
	testpb.RegisterTestServiceServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultServiceConfig(retryConfig))
	if ch != nil {
		opts = append(opts, grpc.WithStatsHandler(ch))
	}
	conn, err := grpc.NewClient(lis.Addr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return testpb.NewTestServiceClient(conn)
}

// TestOtelgrpcRetries: with otelgrpc and grpcstats.WrapHandler, a call that
// grpc retried counts once in the client's row, by the code its caller saw,
// Retried when it took more than one attempt, and is listed once, with its
// attempts and the latency its caller saw; its earlier attempts are in its
// trace, as spans that are no calls, numbered; the server's row counts
// every attempt it answered.
func TestOtelgrpcRetries(t *testing.T) {
	sp, tp, client := startRetrying(t, true)
	traces, took := driveRetries(t, tp, client)
	rowtest.Wait(t, sp, retryRows(
		map[string]uint64{"OK": 3, "UNAVAILABLE": 9, "NOT_FOUND": 2},
		map[string]uint64{"OK": 3, "UNAVAILABLE": 1, "NOT_FOUND": 2}))

	method := grpctest.Method + "UnaryCall"
	if n := sp.Count(debugz.Filter{Kind: trace.SpanKindClient, Method: method}); n != len(retryCalls) {
		t.Errorf("Count(client spans) = %d; want %d, one per call", n, len(retryCalls))
	}
	unavailable := codes.Unavailable
	if got := sp.Spans(debugz.Filter{Kind: trace.SpanKindClient, Code: &unavailable}); len(got) != 1 {
		t.Errorf("Spans(client, UNAVAILABLE) = %d spans; want 1, the call that exhausted its attempts", len(got))
	}
	for i, c := range retryCalls {
		var call []debugz.Span
		var attempts []debugz.Span
		for _, s := range sp.Trace(traces[i]) {
			switch {
			case s.Kind != trace.SpanKindClient:
			case s.Method != "":
				call = append(call, s)
			default:
				attempts = append(attempts, s)
			}
		}
		if len(call) != 1 || len(attempts) != c.attempts-1 {
			t.Errorf("call that %s: trace has %d client calls and %d attempts; want 1 and %d", c.name, len(call), len(attempts), c.attempts-1)
			continue
		}
		s := call[0]
		wantAttempts := c.attempts // a call that succeeded at once is like any other: no attempts said
		if c.attempts == 1 && c.want == codes.OK {
			wantAttempts = 0
		}
		if s.Code != c.want || s.Attempts != wantAttempts {
			t.Errorf("call that %s: code %v, Attempts %d; want %v, %d", c.name, s.Code, s.Attempts, c.want, wantAttempts)
		}
		for j, a := range attempts {
			if n := intAttr(a.Attributes, semconv.AttemptNumber); n != int64(j+1) || a.Code != codes.OK || a.Attempts != 0 {
				t.Errorf("call that %s: attempt span %d has number %d, Code %v, Attempts %d; want %d, OK, 0", c.name, j, n, a.Code, a.Attempts, j+1)
			}
		}
		if c.attempts > 1 {
			if min := s.End.Sub(attempts[0].Start) - time.Millisecond; s.Duration < min || s.Duration > took[i] {
				t.Errorf("call that %s: Duration %v; want what the caller saw, from its first attempt's start (%v) to its end, at most %v",
					c.name, s.Duration, s.End.Sub(attempts[0].Start), took[i])
			}
		}
	}
}

// TestOtelgrpcRetriesWithoutGRPCStats: otelgrpc alone says nothing of
// retries, so each attempt counts as a call (as the README says): the
// client's row counts what the server's does.
func TestOtelgrpcRetriesWithoutGRPCStats(t *testing.T) {
	sp, tp, client := startRetrying(t, false)
	driveRetries(t, tp, client)
	codes := map[string]uint64{"OK": 3, "UNAVAILABLE": 9, "NOT_FOUND": 2}
	rows := retryRows(codes, codes)
	c := rows[rowtest.Client(grpctest.Method+"UnaryCall")]
	c.Retried = 0
	rows[rowtest.Client(grpctest.Method+"UnaryCall")] = c
	rowtest.Wait(t, sp, rows)
}

// TestGRPCPluginRetries: the same calls through grpc-go's plugin, with
// grpcstats.NewHandler beside it for exact codes: the plugin's call span
// holds its attempts, so each call counts once there too, with its attempts.
func TestGRPCPluginRetries(t *testing.T) {
	sp, client, tp := startPluginBeside(t)
	traces, _ := driveRetries(t, tp, client)
	rowtest.Wait(t, sp, retryRows(
		map[string]uint64{"OK": 3, "UNAVAILABLE": 9, "NOT_FOUND": 2},
		map[string]uint64{"OK": 3, "UNAVAILABLE": 1, "NOT_FOUND": 2}))
	for i, c := range retryCalls {
		var calls []debugz.Span
		for _, s := range sp.Trace(traces[i]) {
			if s.Kind == trace.SpanKindClient && s.Method != "" {
				calls = append(calls, s)
			}
		}
		if len(calls) != 1 || calls[0].Attempts != c.attempts || calls[0].Code != c.want {
			t.Errorf("call that %s: %d client calls in its trace; want 1 of %d attempts, code %v", c.name, len(calls), c.attempts, c.want)
		}
	}
}

// startPluginBeside serves failFirst with grpc-go's plugin and
// grpcstats.NewHandler beside it on both sides, and returns a client whose
// service config retries UnaryCall.
func startPluginBeside(t *testing.T) (*debugz.SpanProcessor, testpb.TestServiceClient, *sdktrace.TracerProvider) {
	t.Helper()
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	o := opentelemetry.Options{TraceOptions: expotel.TraceOptions{TracerProvider: tp, TextMapPropagator: propagation.TraceContext{}}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.StatsHandler(grpcstats.NewHandler()), opentelemetry.ServerOption(o))
	testpb.RegisterTestServiceServer(gs, failFirst{})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(retryConfig), grpc.WithStatsHandler(grpcstats.NewHandler()), opentelemetry.DialOption(o))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return sp, testpb.NewTestServiceClient(conn), tp
}

func intAttr(kvs []attribute.KeyValue, key string) int64 {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value.AsInt64()
		}
	}
	return 0
}
