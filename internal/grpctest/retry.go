package grpctest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// RetryConfig is a service config that retries UnaryCall on UNAVAILABLE,
// up to 4 attempts, quickly.
const RetryConfig = `{"methodConfig":[{"name":[{"service":"grpc.testing.TestService"}],
	"retryPolicy":{"maxAttempts":4,"initialBackoff":"0.01s","maxBackoff":"0.05s",
	"backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}]}`

// FailFirst answers UnaryCall UNAVAILABLE on the first ResponseSize attempts
// of a call (it reads which attempt it is from the request's
// grpc-previous-rpc-attempts), then as Service does.
type FailFirst struct{ Service }

func (f FailFirst) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
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

// RetryCall is a call that DriveRetries makes.
type RetryCall struct {
	Name     string
	Fails    int32      // attempts the server fails with UNAVAILABLE
	Code     codes.Code // what the server answers after them
	Want     codes.Code // what the caller sees
	Attempts int        // attempts grpc makes
}

// RetryCalls are the calls DriveRetries makes. With RetryConfig, the server
// answers 14 attempts (OK 3, UNAVAILABLE 9, NOT_FOUND 2) and the callers
// see 6 calls (OK 3, UNAVAILABLE 1, NOT_FOUND 2), 4 of them retried.
var RetryCalls = []RetryCall{
	{"succeeds on the fourth attempt", 3, codes.OK, codes.OK, 4},
	{"succeeds on the second attempt", 1, codes.OK, codes.OK, 2},
	{"exhausts its four attempts", 10, codes.OK, codes.Unavailable, 4},
	{"fails for good on the second attempt", 1, codes.NotFound, codes.NotFound, 2},
	{"succeeds at once", 0, codes.OK, codes.OK, 1},
	{"fails at once, not retried", 0, codes.NotFound, codes.NotFound, 1},
}

// StartRetrying serves FailFirst with otelgrpc as Start does, and returns
// a client whose service config is RetryConfig.
func StartRetrying(t testing.TB, tp trace.TracerProvider, wrap Wrap) testpb.TestServiceClient {
	t.Helper()
	if wrap == nil {
		wrap = func(h stats.Handler) stats.Handler { return h }
	}
	opts := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{})}
	conn := Serve(t, wrap(otelgrpc.NewServerHandler(opts...)), wrap(otelgrpc.NewClientHandler(opts...)),
		func(s *grpc.Server) { testpb.RegisterTestServiceServer(s, FailFirst{}) }, grpc.WithDefaultServiceConfig(RetryConfig))
	return testpb.NewTestServiceClient(conn)
}

// DriveRetries makes RetryCalls through client, each under a caller's span
// of its own from tp, checks that each caller saw what it should, and
// returns the trace of each and how long each took as its caller saw it.
func DriveRetries(t testing.TB, tp trace.TracerProvider, client testpb.TestServiceClient) (traces []trace.TraceID, took []time.Duration) {
	t.Helper()
	for _, c := range RetryCalls {
		req := &testpb.SimpleRequest{ResponseSize: c.Fails}
		if c.Code != codes.OK {
			req.ResponseStatus = &testpb.EchoStatus{Code: int32(c.Code), Message: "no"}
		}
		ctx, span := tp.Tracer("caller").Start(context.Background(), "caller")
		start := time.Now()
		_, err := client.UnaryCall(ctx, req)
		took = append(took, time.Since(start))
		span.End()
		if status.Code(err) != c.Want {
			t.Fatalf("call that %s: %v; want %v", c.Name, err, c.Want)
		}
		traces = append(traces, span.SpanContext().TraceID())
	}
	return traces, took
}
