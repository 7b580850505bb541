package e2e_test

import (
	"context"
	"testing"

	"github.com/debugz/debugz/grpcstats"
	"github.com/debugz/debugz/internal/grpctest"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
)

// TestWrapHandlerLeavesCallersSpan: when otelgrpc's filter (WithFilter,
// newer than the otelgrpc the root module tests with) starts no span for an
// RPC, the caller's own span must not get the RPC's attributes.
func TestWrapHandlerLeavesCallersSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	skipAll := otelgrpc.WithFilter(func(*stats.RPCTagInfo) bool { return false })
	ch := grpcstats.WrapHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp), skipAll))
	conn := grpctest.Serve(t, nil, ch, func(s *grpc.Server) { testpb.RegisterTestServiceServer(s, grpctest.Service{}) })

	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	if _, err := testpb.NewTestServiceClient(conn).UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].Name() != "parent" {
		t.Fatalf("%d spans ended; want only the caller's (otelgrpc's filter skips the RPC)", len(spans))
	}
	if s := spans[0]; len(s.Attributes()) != 0 || len(s.Events()) != 0 {
		t.Errorf("caller's span got attributes %v and %d events; want none", s.Attributes(), len(s.Events()))
	}
}
