// Package grpctest serves grpc-go's interop TestService on 127.0.0.1 with
// otelgrpc on both sides, for the tests of every debugz module: the root's
// (on the oldest otelgrpc debugz supports) and e2e's (on the newest).
package grpctest

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// Method is the prefix of the service's full method names.
const Method = "grpc.testing.TestService/"

// Service answers UnaryCall with the status the request asks for; a request
// for DEADLINE_EXCEEDED waits until the caller gives up and then answers
// CANCELLED (whether the server's own copy of the deadline or the client's
// reset comes first is a race, so the service does not leave it to grpc).
// Its streaming methods send and receive what they are asked to.
type Service struct {
	testpb.UnimplementedTestServiceServer
}

func (Service) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if st := req.GetResponseStatus(); st != nil && st.GetCode() != 0 {
		if codes.Code(st.GetCode()) == codes.DeadlineExceeded {
			<-ctx.Done()
			time.Sleep(20 * time.Millisecond) // let the client's own deadline fire first
			return nil, status.Error(codes.Canceled, "caller gave up")
		}
		return nil, status.Error(codes.Code(st.GetCode()), st.GetMessage())
	}
	return &testpb.SimpleResponse{Username: "ada"}, nil
}

func (Service) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error {
	for range req.GetResponseParameters() {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	return nil
}

func (Service) StreamingInputCall(stream testpb.TestService_StreamingInputCallServer) error {
	n := 0
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(n)})
		}
		if err != nil {
			return err
		}
		n++
	}
}

func (Service) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
}

// Wrap turns otelgrpc's stats handler into the one installed (for instance
// grpcstats.WrapHandler); nil installs otelgrpc's as it is.
type Wrap func(stats.Handler) stats.Handler

// Start serves srv (Service{} when nil) on 127.0.0.1 with otelgrpc's server
// handler, and returns a client with otelgrpc's client handler, both sending
// spans to tp with a W3C propagator. Everything stops when the test ends.
func Start(t testing.TB, tp trace.TracerProvider, wrap Wrap, srv testpb.TestServiceServer) testpb.TestServiceClient {
	t.Helper()
	if wrap == nil {
		wrap = func(h stats.Handler) stats.Handler { return h }
	}
	if srv == nil {
		srv = Service{}
	}
	opts := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{})}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.StatsHandler(wrap(otelgrpc.NewServerHandler(opts...))))
	testpb.RegisterTestServiceServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(wrap(otelgrpc.NewClientHandler(opts...))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return testpb.NewTestServiceClient(conn)
}

// Unary makes n UnaryCalls asking for code c and checks that each ends
// with it.
func Unary(t testing.TB, client testpb.TestServiceClient, n int, c codes.Code, timeout time.Duration) {
	t.Helper()
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(c), Message: "asked for"}})
		cancel()
		if got := status.Code(err); got != c {
			t.Fatalf("UnaryCall asking for %v = %v; want %v", c, err, c)
		}
	}
}

// ServerStream makes a StreamingOutputCall of msgs answers and reads them all.
func ServerStream(t testing.TB, client testpb.TestServiceClient, msgs int) {
	t.Helper()
	stream, err := client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{ResponseParameters: make([]*testpb.ResponseParameters, msgs)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := stream.Recv(); err != nil {
			if i != msgs {
				t.Fatalf("stream ended after %d messages with %v; want %d", i, err, msgs)
			}
			return
		}
	}
}

// WaitFor polls until cond holds, failing the test after 10 seconds: server
// spans end just after the client sees the response, so the last server
// span may land a moment later.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
